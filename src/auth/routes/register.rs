//! Creating accounts: seed 000's sign-up view (text/plain errors, answers a JWT
//! pair), and the DRF register views of seeds 002 and 003.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::auth::extract::client;
use crate::auth::login::jwt_login;
use crate::auth::users::{self, NewUser, User, USERNAME_TAKEN};
use crate::auth::MaybeUser;
use crate::error::ApiError;
use crate::extract::{Body, ViewBody};
use crate::fields::{join_messages, loose_text};
use crate::json::Json;
use crate::password::{self, Attributes};
use crate::state::AppState;

/// The caller's address and user agent, for the login record.
pub struct ClientInfo(pub crate::auth::logins::Client);

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Self(client(parts, state)))
    }
}

/// Inserts a plain user with the hashed password; `None` if the name was taken
/// meanwhile. Sign-ups count against the client address's limit first.
pub async fn create_user(
    state: &AppState,
    client: &crate::auth::logins::Client,
    username: String,
    password: String,
) -> Result<Option<User>, ApiError> {
    crate::auth::throttle::signup_attempt(state, client).await?;
    let hash = state.hasher.hash(password).await?;
    state
        .db
        .run(move |conn| {
            users::create(
                conn,
                &NewUser {
                    username: &username,
                    email: "",
                    password: &hash,
                    is_staff: false,
                    is_superuser: false,
                    date_joined: crate::time::now(),
                },
            )
        })
        .await
}

/// Username rule and password validators, as the tutorial's plain views run them.
pub fn plain_view_errors(username: &str, password: &str) -> Vec<String> {
    if let Some(error) = users::username_error(username) {
        // Django's model field says it its own way
        if username.chars().count() > 150 {
            return vec![format!(
                "Ensure this value has at most 150 characters (it has {}).",
                username.chars().count()
            )];
        }
        return vec![error];
    }
    password::validate(password, Attributes::username(username))
}

/// Seed 000's sign-up: `{username, password}` -> a JWT pair and the username.
#[utoipa::path(post, path = "/api/auth/signup/", tag = "auth",
    request_body = Credentials,
    responses((status = 200, body = SignupOut), (status = 400, description = "text/plain reason")))]
pub async fn signup(
    State(state): State<AppState>,
    ClientInfo(client): ClientInfo,
    ViewBody(data): ViewBody,
) -> Result<Response, ApiError> {
    if !data.is_object() {
        return Err(ApiError::non_field(format!(
            "Invalid data. Expected a dictionary, but got {}.",
            crate::fields::python_type(&data)
        )));
    }
    let username = loose_text(data.get("username")).filter(|s| !s.is_empty());
    let password = loose_text(data.get("password")).filter(|s| !s.is_empty());
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::BadRequestText(
            "username and password required".into(),
        ));
    };
    let name = username.clone();
    if state
        .db
        .read(move |conn| users::username_exists(conn, &name))
        .await?
    {
        return Err(ApiError::BadRequestText("username taken".into()));
    }
    let errors = plain_view_errors(&username, &password);
    if !errors.is_empty() {
        return Err(ApiError::BadRequestText(join_messages(&errors)));
    }
    let user = create_user(&state, &client, username, password)
        .await?
        .ok_or_else(|| ApiError::BadRequestText("username taken".into()))?;
    let name = user.username.clone();
    let pair = jwt_login(&state, user, client).await?;
    Ok(Json(SignupOut {
        access: pair.access,
        refresh: pair.refresh,
        user: SignupUser { username: name },
    })
    .into_response())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignupOut {
    access: String,
    refresh: String,
    user: SignupUser,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignupUser {
    username: String,
}

/// `{username, password}` as every login and register route takes it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    id: i64,
    username: String,
}

/// DRF's ModelSerializer for `(id, username, password)`: field errors first, then
/// the password validators under `password`.
#[utoipa::path(post, path = "/api/user/register/", tag = "auth", request_body = Credentials,
    responses((status = 201, body = Registered), (status = 400, description = "field errors")))]
pub async fn register(
    State(state): State<AppState>,
    _caller: MaybeUser,
    ClientInfo(client): ClientInfo,
    body: Body,
) -> Result<Response, ApiError> {
    let mut input = body.input(false)?;
    let username = input.string("username", None, false, true);
    let password = input.password("password", 128);
    if let Some(name) = &username {
        if let Some(error) = users::username_error(name) {
            input.error("username", error);
        } else {
            let name = name.clone();
            if state
                .db
                .read(move |conn| users::username_exists(conn, &name))
                .await?
            {
                input.error("username", USERNAME_TAKEN);
            }
        }
    }
    input.finish()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let errors = password::validate(&password, Attributes::username(&username));
    if !errors.is_empty() {
        let mut fields = crate::fields::FieldErrors::default();
        for e in errors {
            fields.add("password", e);
        }
        return Err(ApiError::Validation(fields));
    }
    let user = create_user(&state, &client, username, password)
        .await?
        .ok_or_else(|| ApiError::field("username", USERNAME_TAKEN))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": user.id, "username": user.username})),
    )
        .into_response())
}
