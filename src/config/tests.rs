use super::*;

#[test]
fn durations_take_units() {
    assert_eq!(parse_duration("x", "90").unwrap(), Duration::from_secs(90));
    assert_eq!(
        parse_duration("x", "30m").unwrap(),
        Duration::from_secs(1800)
    );
    assert_eq!(
        parse_duration("x", "1d").unwrap(),
        Duration::from_secs(86400)
    );
    assert!(parse_duration("x", "soon").is_err());
}

fn only(pairs: &'static [(&'static str, &'static str)]) -> Source<impl Fn(&str) -> Option<String>> {
    Source(move |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
}

#[test]
fn every_default_is_valid_in_either_mode() {
    for debug in [true, false] {
        let settings =
            Settings::read(&only(&[]), "sqlite://x.db".into(), "k".into(), debug).unwrap();
        assert_eq!(settings.cors_allowed_origins.is_empty(), !debug);
        assert_eq!(settings.csrf_trusted_origins.is_empty(), !debug);
    }
}

/// `db` keeps its own copy for pools opened without settings.
#[test]
fn the_database_timeout_is_the_pools_default() {
    assert_eq!(
        parse_duration("", vars::DATABASE_TIMEOUT.default.unwrap()).unwrap(),
        crate::db::DEFAULT_TIMEOUT
    );
}

#[test]
fn a_bad_value_names_its_variable() {
    let error = |pairs| {
        Settings::read(&only(pairs), "sqlite://x.db".into(), "k".into(), true)
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        error(&[("BODY_LIMIT", " lots")]),
        r#"BODY_LIMIT: not a number: " lots""#
    );
    assert_eq!(
        error(&[("MAX_CONNECTIONS", "0")]),
        "MAX_CONNECTIONS: must be above 0"
    );
    assert_eq!(
        error(&[("DATABASE_POOL_SIZE", "many")]),
        r#"DATABASE_POOL_SIZE: not a number: "many""#
    );
    assert_eq!(
        error(&[("LOG_JSON", "maybe")]),
        r#"LOG_JSON: expected true or false, got "maybe""#
    );
}

/// (name, default) of each row of the README's settings table.
fn readme_settings() -> Vec<(String, String)> {
    let readme = include_str!("../../README.md");
    let section = readme
        .split_once("\n## Configuration\n")
        .expect("README.md has a Configuration section")
        .1;
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|line| {
            let mut cells = line.strip_prefix('|')?.split('|').map(str::trim);
            let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_owned(), cells.next()?.to_owned()))
        })
        .collect()
}

#[test]
fn the_readme_settings_table_is_the_code_s() {
    let readme = readme_settings();
    let mut wrong = Vec::new();
    for var in vars::ALL {
        let shown = var.shown_default();
        match readme.iter().find(|(name, _)| name == var.name) {
            None => wrong.push(format!(
                "{} is missing; its row: | `{}` | {shown} | {} |",
                var.name, var.name, var.meaning
            )),
            Some((_, default)) if *default != shown => wrong.push(format!(
                "{}: the README's default is {default}, the code's {shown}",
                var.name
            )),
            Some(_) => {}
        }
    }
    for (name, _) in &readme {
        if !vars::ALL.iter().any(|var| var.name == name) {
            wrong.push(format!(
                "{name} is in the README, but no setting of the code"
            ));
        }
    }
    for (i, (name, _)) in readme.iter().enumerate() {
        if readme[..i].iter().any(|(earlier, _)| earlier == name) {
            wrong.push(format!("{name} is in the README twice"));
        }
    }
    assert!(
        wrong.is_empty(),
        "README.md, Configuration:\n{}",
        wrong.join("\n")
    );
}
