//! Django's CSRF protection: the `csrftoken` cookie echoed in `X-CSRFToken` (or the
//! form's `csrfmiddlewaretoken`), the Origin check against `CSRF_TRUSTED_ORIGINS`,
//! and over HTTPS the Referer check; with Django's reasons, word for word.

use axum::http::{header, HeaderMap, Method};
use cookie::{Cookie, SameSite};

use crate::config::Settings;
use crate::crypto::{constant_time_eq, random_string};
use crate::error::ApiError;

pub const COOKIE: &str = "csrftoken";
const SECRET_LEN: usize = 32;
const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// One year, as Django's CSRF_COOKIE_AGE.
const COOKIE_AGE: i64 = 31_449_600;

pub fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

pub fn new_secret() -> String {
    random_string(SECRET_LEN)
}

pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| Cookie::parse(c.trim().to_owned()).ok())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// The `Set-Cookie` for a CSRF secret.
pub fn set_cookie(settings: &Settings, secret: &str) -> String {
    Cookie::build((COOKIE, secret.to_owned()))
        .path("/")
        .max_age(cookie::time::Duration::seconds(COOKIE_AGE))
        .same_site(SameSite::Lax)
        .secure(settings.csrf_cookie_secure)
        .build()
        .to_string()
}

fn valid_format(token: &str) -> Result<(), &'static str> {
    if token.len() != SECRET_LEN && token.len() != 2 * SECRET_LEN {
        return Err("has incorrect length");
    }
    if !token.bytes().all(|b| CHARS.contains(&b)) {
        return Err("has invalid characters");
    }
    Ok(())
}

/// A 64-character token is Django's masked form: a mask followed by the secret
/// shifted by it.
fn unmask(token: &str) -> String {
    if token.len() == SECRET_LEN {
        return token.to_owned();
    }
    let (mask, cipher) = token.split_at(SECRET_LEN);
    let pos = |c: u8| CHARS.iter().position(|&x| x == c).unwrap_or(0);
    mask.bytes()
        .zip(cipher.bytes())
        .map(|(m, c)| CHARS[(pos(c) + CHARS.len() - pos(m)) % CHARS.len()] as char)
        .collect()
}

/// The server's own origin as Django computes it from the Host header.
fn own_origin(headers: &HeaderMap, secure: bool) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!(
        "{}://{host}",
        if secure { "https" } else { "http" }
    ))
}

/// Django's CsrfViewMiddleware for an unsafe request. `form_token` is the body's
/// `csrfmiddlewaretoken`, when the body is a form.
pub fn check(
    settings: &Settings,
    headers: &HeaderMap,
    secure: bool,
    form_token: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let trusted = own_origin(headers, secure).as_deref() == Some(origin)
            || settings.csrf_trusted_origins.iter().any(|o| o == origin);
        if !trusted {
            return Err(ApiError::Csrf(format!(
                "Origin checking failed - {origin} does not match any trusted origins."
            )));
        }
    } else if secure {
        check_referer(settings, headers)?;
    }
    let secret = cookie_value(headers, COOKIE)
        .ok_or_else(|| ApiError::Csrf("CSRF cookie not set.".into()))?;
    if let Err(reason) = valid_format(&secret) {
        return Err(ApiError::Csrf(format!("CSRF cookie {reason}.")));
    }
    let (token, source) = match form_token {
        Some(t) if !t.is_empty() => (t.to_owned(), "POST"),
        _ => match headers.get("x-csrftoken").and_then(|v| v.to_str().ok()) {
            Some(t) => (t.to_owned(), "the 'X-Csrftoken' HTTP header"),
            None => return Err(ApiError::Csrf("CSRF token missing.".into())),
        },
    };
    if let Err(reason) = valid_format(&token) {
        return Err(ApiError::Csrf(format!(
            "CSRF token from {source} {reason}."
        )));
    }
    if !constant_time_eq(unmask(&token).as_bytes(), unmask(&secret).as_bytes()) {
        return Err(ApiError::Csrf(format!(
            "CSRF token from {source} incorrect."
        )));
    }
    Ok(())
}

fn check_referer(settings: &Settings, headers: &HeaderMap) -> Result<(), ApiError> {
    let referer = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::Csrf("Referer checking failed - no Referer.".into()))?;
    let Ok(url) = referer.parse::<axum::http::Uri>() else {
        return Err(ApiError::Csrf(
            "Referer checking failed - Referer is malformed.".into(),
        ));
    };
    if url.scheme_str() != Some("https") {
        return Err(ApiError::Csrf(
            "Referer checking failed - Referer is insecure while host is secure.".into(),
        ));
    }
    let origin = format!(
        "https://{}",
        url.authority().map(|a| a.as_str()).unwrap_or_default()
    );
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if origin == format!("https://{host}") || settings.csrf_trusted_origins.contains(&origin) {
        Ok(())
    } else {
        Err(ApiError::Csrf(format!(
            "Referer checking failed - {referer} does not match any trusted origins."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_tokens_unmask_to_the_secret() {
        let secret = "abcdefghijklmnopqrstuvwxyzABCDEF";
        let mask = "0123456789abcdefghijklmnopqrstuv";
        let pos = |c: u8| CHARS.iter().position(|&x| x == c).unwrap();
        let cipher: String = secret
            .bytes()
            .zip(mask.bytes())
            .map(|(s, m)| CHARS[(pos(s) + pos(m)) % CHARS.len()] as char)
            .collect();
        assert_eq!(unmask(&format!("{mask}{cipher}")), secret);
        assert_eq!(unmask(secret), secret);
    }
}
