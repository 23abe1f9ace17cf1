//! Every auth route at the HTTP level, on both backends: sign-up and register,
//! simplejwt (obtain, refresh, verify, logout), Bearer handling, DRF tokens, the
//! session views with CSRF, and the caller's own account (me, csrf, logins).

mod account;
mod bearer;
mod drf_token;
mod jwt;
mod register;
mod session;

use crate::helpers::*;

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const TOO_SHORT: &str = "This password is too short. It must contain at least 8 characters.";
pub const TOO_COMMON: &str = "This password is too common.";
pub const ENTIRELY_NUMERIC: &str = "This password is entirely numeric.";
pub const TOO_SIMILAR: &str = "The password is too similar to the username.";
pub const BAD_USERNAME: &str =
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
pub const USERNAME_TAKEN: &str = "A user with that username already exists.";
pub const NO_ACTIVE_ACCOUNT: &str = "No active account found with the given credentials";
pub const NOT_VALID_FOR_ANY: &str = "Given token not valid for any token type";
pub const BAD_CREDENTIALS: &str = "Unable to log in with provided credentials.";

/// `GET /api/auth/sessions/` as the holder of a Bearer token.
pub async fn logins_of(app: &TestApp, access: &str) -> Vec<Value> {
    let r = app
        .get_with("/api/auth/sessions/", &format!("Bearer {access}"))
        .await;
    expect(r, 200).await.as_array().unwrap().clone()
}

/// The id of the login the listing marks as the caller's own.
pub fn current_id(logins: &[Value]) -> i64 {
    let current: Vec<&Value> = logins
        .iter()
        .filter(|l| l["current"] == json!(true))
        .collect();
    assert_eq!(current.len(), 1, "{logins:?}");
    current[0]["id"].as_i64().unwrap()
}

/// `{"detail": ..., "code": "token_not_valid"}`, as simplejwt's views answer.
pub fn token_not_valid(detail: &str) -> Value {
    json!({ "detail": detail, "code": "token_not_valid" })
}

/// Asserts the Bearer authenticator refused an access token for `message`.
pub async fn expect_bad_access(r: Response, message: &str) {
    let body = expect_401(r).await;
    assert_eq!(body["detail"], NOT_VALID_FOR_ANY, "{body}");
    assert_eq!(body["code"], "token_not_valid", "{body}");
    assert_eq!(body["messages"][0]["message"], message, "{body}");
}

/// No password, and no hash of one, in a response text.
pub fn assert_no_password(text: &str, password: &str) {
    assert!(
        !text.contains(password),
        "the password is in the response: {text}"
    );
    for marker in ["argon2", "pbkdf2", "\"password\""] {
        assert!(
            !text.contains(marker),
            "{marker} is in the response: {text}"
        );
    }
}
