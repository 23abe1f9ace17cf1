//! Moving a tutorial app from Django to Hearth and back: `import-django` reads the
//! Django project's database; `dumpdata` and `loaddata` speak Django's fixture JSON
//! with the reference's app labels.

pub mod fixtures;
pub mod signing;
pub mod source;
pub mod write;

use secrecy::ExposeSecret as _;

use crate::config::Settings;
use crate::crypto::Keys;
use crate::db::{redact, Conn};
pub use write::Merge;

/// A bar on the terminal's stderr; hidden when stderr is not a terminal.
fn progress(total: usize) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(u64::try_from(total).unwrap_or(u64::MAX));
    if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {msg}") {
        bar.set_style(style);
    }
    bar
}

/// `hearth import-django --from URL`: reads everything first, then writes in one
/// transaction; prints the summary.
pub fn import(
    settings: &Settings,
    conn: &mut Conn,
    from: &str,
    merge: Option<Merge>,
    dry_run: bool,
    django_secret: Option<&str>,
) -> anyhow::Result<String> {
    let data = source::read(from)?;
    let keys = Keys::derive(&settings.secret_key);
    let own = settings.secret_key.expose_secret();
    let options = write::Options {
        merge,
        dry_run,
        django_secret: django_secret.unwrap_or(own),
        keys: &keys,
    };
    let bar = progress(data.rows());
    let summary = write::write(conn, &data, &options, &bar)?;
    let mut out = write::report(&summary, &redact(from));
    if django_secret.is_some_and(|key| key != own) {
        out.push_str(
            "Note: Hearth's SECRET_KEY is not the Django project's, so the JWTs Django issued \
             (access and refresh) do not verify in Hearth; sessions and DRF tokens do.\n",
        );
    }
    Ok(out)
}

/// `hearth dumpdata [MODEL...]`: one JSON array, as `manage.py dumpdata` writes it.
pub fn dumpdata(
    settings: &Settings,
    conn: &mut Conn,
    models: &[String],
    indent: Option<usize>,
    output: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use serde::Serialize as _;
    let models = fixtures::select(models)?;
    let keys = Keys::derive(&settings.secret_key);
    let objects = fixtures::dump(conn, &keys, &models)?;
    let mut text = Vec::new();
    match indent {
        Some(n) => {
            let pad = " ".repeat(n);
            let formatter = serde_json::ser::PrettyFormatter::with_indent(pad.as_bytes());
            let mut ser = serde_json::Serializer::with_formatter(&mut text, formatter);
            objects.serialize(&mut ser)?;
        }
        None => serde_json::to_writer(&mut text, &objects)?,
    }
    text.push(b'\n');
    match output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(&text)?;
        }
    }
    Ok(())
}

/// `hearth loaddata FILE`: the fixture's objects in one transaction, replacing
/// those with the same id; returns the summary.
pub fn loaddata(
    settings: &Settings,
    conn: &mut Conn,
    file: &std::path::Path,
) -> anyhow::Result<String> {
    use anyhow::Context as _;
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {name}"))?;
    let data = fixtures::parse(&text, &name)?;
    let keys = Keys::derive(&settings.secret_key);
    let options = write::Options {
        merge: Some(Merge::Replace),
        dry_run: false,
        django_secret: settings.secret_key.expose_secret(),
        keys: &keys,
    };
    let bar = progress(data.rows());
    let summary = write::write(conn, &data, &options, &bar)?;
    Ok(write::report(&summary, &name))
}
