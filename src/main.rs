use std::process::ExitCode;

fn main() -> ExitCode {
    hearth::cli::main()
}
