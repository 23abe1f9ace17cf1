//! What an import did, row by row and model by model, and its report for the operator.

use std::collections::BTreeMap;

/// Rows of one model: how many were written, and how many were not, by reason.
#[derive(Debug, Default)]
pub struct Count {
    pub imported: usize,
    pub skipped: BTreeMap<&'static str, usize>,
}

impl Count {
    pub(super) fn skip(&mut self, why: &'static str) {
        *self.skipped.entry(why).or_default() += 1;
    }
}

#[derive(Debug, Default)]
pub struct Summary {
    pub models: Vec<(&'static str, Count)>,
    /// Users whose hash Hearth cannot check: (username, hasher).
    pub must_reset: Vec<(String, String)>,
    pub unusable: usize,
    pub blacklisted: usize,
    /// Unexpired sessions, and how many of them failed their signature.
    pub live_sessions: usize,
    pub bad_signatures: usize,
    pub absent_apps: Vec<&'static str>,
    pub ignored: BTreeMap<String, usize>,
    pub dry_run: bool,
}

/// The summary as lines for the operator.
pub fn report(summary: &Summary, from: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let verb = if summary.dry_run {
        "would import"
    } else {
        "imported"
    };
    let _ = writeln!(out, "From {from}:");
    for (model, count) in &summary.models {
        let _ = write!(out, "  {model:<34} {:>6} {verb}", count.imported);
        if !count.skipped.is_empty() {
            let total: usize = count.skipped.values().sum();
            let why: Vec<String> = count
                .skipped
                .iter()
                .map(|(why, n)| format!("{why}: {n}"))
                .collect();
            let _ = write!(out, ", {total} skipped ({})", why.join("; "));
        }
        out.push('\n');
    }
    if summary.blacklisted > 0 {
        let _ = writeln!(
            out,
            "{} refresh token(s) were blacklisted in Django and stay refused.",
            summary.blacklisted
        );
    }
    if !summary.must_reset.is_empty() {
        let names: Vec<String> = summary
            .must_reset
            .iter()
            .map(|(name, algo)| format!("{name} ({algo})"))
            .collect();
        let _ = writeln!(
            out,
            "{} password hash(es) in a format Hearth cannot verify, kept as they are; these \
             users cannot log in until their password is reset (hearth changepassword NAME): {}",
            names.len(),
            names.join(", ")
        );
    }
    if summary.unusable > 0 {
        let _ = writeln!(
            out,
            "{} user(s) have no usable password in Django and log in with none in Hearth either.",
            summary.unusable
        );
    }
    if summary.live_sessions > 0 && summary.bad_signatures == summary.live_sessions {
        let _ = writeln!(
            out,
            "WARNING: none of the {} unexpired sessions verifies with the SECRET_KEY given: it is \
             not the Django project's. Pass its key with --django-secret-key (and set Hearth's \
             SECRET_KEY to it, or Django's JWTs will not verify either).",
            summary.live_sessions
        );
    } else if summary.bad_signatures > 0 {
        let _ = writeln!(
            out,
            "{} session(s) did not verify with the SECRET_KEY given and were skipped.",
            summary.bad_signatures
        );
    }
    if !summary.absent_apps.is_empty() {
        let _ = writeln!(
            out,
            "Not in the Django project (nothing to import): {}",
            summary.absent_apps.join(", ")
        );
    }
    for (model, n) in &summary.ignored {
        let _ = writeln!(
            out,
            "  {model:<34} {n:>6} ignored (Hearth does not keep this model)"
        );
    }
    if summary.dry_run {
        out.push_str("Dry run: nothing was written.\n");
    }
    out
}
