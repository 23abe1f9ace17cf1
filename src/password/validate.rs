//! Django's four default password validators, in Django's order, with its messages.

use std::collections::HashSet;
use std::sync::LazyLock;

/// The user attributes Django's similarity validator compares against.
#[derive(Debug, Default, Clone, Copy)]
pub struct Attributes<'a> {
    pub username: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub email: &'a str,
}

impl<'a> Attributes<'a> {
    pub fn username(username: &'a str) -> Self {
        Self {
            username,
            ..Self::default()
        }
    }
}

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(str::trim)
        .collect()
});

/// Django's default validators, in Django's order, with Django's messages.
pub fn validate(password: &str, user: Attributes<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    for (value, name) in [
        (user.username, "username"),
        (user.first_name, "first name"),
        (user.last_name, "last name"),
        (user.email, "email address"),
    ] {
        if !value.is_empty() && too_similar(password, value) {
            errors.push(format!("The password is too similar to the {name}."));
            break;
        }
    }
    if password.chars().count() < 8 {
        errors
            .push("This password is too short. It must contain at least 8 characters.".to_owned());
    }
    if COMMON.contains(password.to_lowercase().trim()) {
        errors.push("This password is too common.".to_owned());
    }
    if !password.is_empty() && password.chars().all(|c| c.is_numeric()) {
        errors.push("This password is entirely numeric.".to_owned());
    }
    errors
}

/// UserAttributeSimilarityValidator with max_similarity 0.7: the value and each of
/// its `\W+`-separated parts, compared by difflib's `quick_ratio`.
fn too_similar(password: &str, value: &str) -> bool {
    let password = password.to_lowercase();
    let value = value.to_lowercase();
    let mut parts: Vec<&str> = value
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .collect();
    parts.push(&value);
    let pwd_len = password.chars().count();
    parts.into_iter().any(|part| {
        let part_len = part.chars().count();
        #[expect(clippy::cast_precision_loss, reason = "lengths are small")]
        let bound = 0.7 / 2.0 * pwd_len as f64;
        #[expect(clippy::cast_precision_loss, reason = "lengths are small")]
        let exceeds = pwd_len >= 10 * part_len && (part_len as f64) < bound;
        !exceeds && quick_ratio(&password, part) >= 0.7
    })
}

fn quick_ratio(a: &str, b: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in b.chars() {
        *counts.entry(c).or_insert(0i32) += 1;
    }
    let mut matches = 0usize;
    for c in a.chars() {
        if let Some(n) = counts.get_mut(&c) {
            if *n > 0 {
                *n -= 1;
                matches += 1;
            }
        }
    }
    let total = a.chars().count() + b.chars().count();
    if total == 0 {
        return 1.0;
    }
    #[expect(clippy::cast_precision_loss, reason = "lengths are small")]
    let ratio = 2.0 * matches as f64 / total as f64;
    ratio
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_messages_in_django_order() {
        assert_eq!(
            validate("123", Attributes::username("someone")),
            [
                "This password is too short. It must contain at least 8 characters.",
                "This password is too common.",
                "This password is entirely numeric."
            ]
        );
        assert_eq!(
            validate("alice_1234ab", Attributes::username("alice_1234ab")),
            ["The password is too similar to the username."]
        );
        assert!(validate("Tr0ub4dor&3-1a2b", Attributes::username("alice")).is_empty());
    }
}
