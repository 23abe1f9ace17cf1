use std::process::ExitCode;

// mimalloc returns the 19 MiB blocks of each argon2 hash to the system and
// allocates small objects faster than glibc's malloc; both showed in the
// benchmark (resident memory after logins, malloc in the list profiles).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    hearth::cli::main()
}
