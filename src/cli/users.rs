//! The user commands of Django's manage.py: `createsuperuser`, `changepassword` and
//! DRF's `drf_create_token`, with Django's messages. A password is read from an
//! environment variable (for scripts) or from the terminal without echo; it is
//! never printed or logged.

use anyhow::{anyhow, bail, Context as _};
use diesel::Connection as _;
use secrecy::{ExposeSecret as _, SecretString};

use super::{cause, connection, open_db};
use crate::auth::users::{self, NewUser, User};
use crate::auth::{logins, tokens};
use crate::config::Settings;
use crate::crypto::Keys;
use crate::db::Conn;
use crate::password::{self, Attributes, Hasher};

/// Read by `createsuperuser` instead of prompting (Django's DJANGO_SUPERUSER_PASSWORD).
pub const SUPERUSER_PASSWORD_VAR: &str = "HEARTH_SUPERUSER_PASSWORD";
/// Read by `changepassword` instead of prompting.
pub const NEW_PASSWORD_VAR: &str = "HEARTH_NEW_PASSWORD";

/// Prompts before giving up, as Django's `changepassword` allows.
const ATTEMPTS: usize = 3;

const TAKEN: &str = "Error: That username is already taken.";

pub fn createsuperuser(
    settings: &Settings,
    username: &str,
    email: &str,
    interactive: bool,
) -> anyhow::Result<()> {
    if username.is_empty() {
        bail!("Username: This field cannot be blank.");
    }
    if let Some(error) = users::username_error(username) {
        bail!("{error}");
    }
    if !email.is_empty() && !crate::auth::users::plausible_email(email) {
        bail!("Enter a valid email address.");
    }
    let db = open_db(settings)?;
    let mut conn = connection(&db)?;
    // Checked before asking for a password, as Django does; the insert checks again.
    if users::username_exists(&mut conn, username).map_err(cause)? {
        bail!(TAKEN);
    }
    let attributes = Attributes {
        username,
        email,
        ..Attributes::default()
    };
    let password = new_password(SUPERUSER_PASSWORD_VAR, interactive, attributes)?;
    let hash = hasher(settings)
        .hash_now(password.expose_secret())
        .map_err(cause)?;
    let new = NewUser {
        username,
        email,
        password: &hash,
        is_staff: true,
        is_superuser: true,
        date_joined: crate::time::now(),
    };
    if users::create(&mut conn, &new).map_err(cause)?.is_none() {
        bail!(TAKEN);
    }
    println!("Superuser created successfully.");
    Ok(())
}

pub fn changepassword(settings: &Settings, username: &str) -> anyhow::Result<()> {
    let db = open_db(settings)?;
    let mut conn = connection(&db)?;
    let user = find_user(&mut conn, username)?
        .ok_or_else(|| anyhow!("user '{username}' does not exist"))?;
    let attributes = Attributes {
        username: &user.username,
        first_name: &user.first_name,
        last_name: &user.last_name,
        email: &user.email,
    };
    if std::env::var_os(NEW_PASSWORD_VAR).is_none() {
        println!("Changing password for user '{username}'");
    }
    let password = new_password(NEW_PASSWORD_VAR, true, attributes)
        .with_context(|| format!("password not changed for user '{username}'"))?;
    let hash = hasher(settings)
        .hash_now(password.expose_secret())
        .map_err(cause)?;
    // A new password ends every session and refresh token, and the access tokens
    // already issued; the password and the revocation are written together.
    conn.transaction(|conn| {
        users::set_password_hash(conn, user.id, &hash)?;
        logins::revoke_all(conn, user.id)
    })
    .map_err(cause)?;
    println!("Password changed successfully for user '{username}'");
    Ok(())
}

pub fn drf_create_token(settings: &Settings, username: &str, reset: bool) -> anyhow::Result<()> {
    let db = open_db(settings)?;
    let mut conn = connection(&db)?;
    let user = find_user(&mut conn, username)?
        .ok_or_else(|| anyhow!("User {username} does not exist."))?;
    let keys = Keys::derive(&settings.secret_key);
    let key = conn
        .transaction(|conn| {
            if reset {
                tokens::revoke(conn, user.id)?;
            }
            tokens::get_or_create(conn, &keys, user.id)
        })
        .map_err(cause)
        .with_context(|| format!("cannot get the token of user {username}"))?;
    println!("Generated token {key} for user {username}");
    Ok(())
}

fn find_user(conn: &mut Conn, username: &str) -> anyhow::Result<Option<User>> {
    users::find_by_username(conn, username).map_err(cause)
}

fn hasher(settings: &Settings) -> Hasher {
    Hasher::new(settings.argon2_memory_kib, settings.argon2_iterations)
}

/// Django's validators' messages joined on one line, as its commands print them.
fn validation_error(password: &str, attributes: Attributes<'_>) -> Option<String> {
    if password.is_empty() {
        return Some("Blank passwords aren't allowed.".to_owned());
    }
    let errors = password::validate(password, attributes);
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// The new password: from `var` when set (no prompt), else typed twice at the
/// terminal, with up to three tries. Invalid passwords are refused; unlike
/// Django there is no "bypass password validation" question.
fn new_password(
    var: &str,
    interactive: bool,
    attributes: Attributes<'_>,
) -> anyhow::Result<SecretString> {
    if let Some(password) = std::env::var(var).ok().filter(|p| !p.is_empty()) {
        let password = SecretString::from(password);
        if let Some(error) = validation_error(password.expose_secret(), attributes) {
            bail!("{error}");
        }
        return Ok(password);
    }
    if !interactive {
        bail!("{var} is not set; it is required with --noinput");
    }
    for _ in 0..ATTEMPTS {
        let first = prompt("Password: ", var)?;
        let again = prompt("Password (again): ", var)?;
        if first.expose_secret() != again.expose_secret() {
            eprintln!("Error: Your passwords didn't match.");
        } else if let Some(error) = validation_error(first.expose_secret(), attributes) {
            eprintln!("Error: {error}");
        } else {
            return Ok(first);
        }
    }
    bail!("no valid password after {ATTEMPTS} attempts")
}

fn prompt(text: &str, var: &str) -> anyhow::Result<SecretString> {
    rpassword::prompt_password(text)
        .map(SecretString::from)
        .map_err(|e| anyhow!("cannot read a password from the terminal ({e}); set {var} instead"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_need_a_local_part_and_a_domain() {
        assert!(crate::auth::users::plausible_email("admin@example.com"));
        assert!(!crate::auth::users::plausible_email("admin"));
        assert!(!crate::auth::users::plausible_email("@example.com"));
        assert!(!crate::auth::users::plausible_email("admin@localhost"));
        assert!(!crate::auth::users::plausible_email("ad min@example.com"));
    }

    #[test]
    fn validation_messages_share_one_line() {
        assert_eq!(
            validation_error("123", Attributes::username("someone")).as_deref(),
            Some(
                "This password is too short. It must contain at least 8 characters.; \
                 This password is too common.; This password is entirely numeric."
            )
        );
        assert!(validation_error("", Attributes::default()).is_some());
        assert_eq!(
            validation_error("Tr0ub4dor&3-1a2b", Attributes::username("alice")),
            None
        );
    }
}
