//! The request body as a JSON value, read as each kind of view reads it: DRF's
//! API views with its default parsers (`Body`), the tutorials' plain Django views
//! with `json.loads(request.body)` (`ViewBody`).

use std::convert::Infallible;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::fields::Input;

/// The body as DRF's default parsers read it: JSON, form-encoded or
/// `multipart/form-data` (every value a string; a file is an object, which no
/// field takes for a string or a number). An empty body is `{}`; any other media
/// type, or none, is 415.
#[derive(Debug)]
pub struct Body<const MULTIPART: bool = true>(pub Value);

/// [`Body`] for a view that names `JSONParser` and `FormParser` alone (seed 002's
/// logout): a multipart body is 415 there.
pub type JsonOrForm = Body<false>;

impl<const MULTIPART: bool> Body<MULTIPART> {
    /// The body as field input (see [`Input`]); a non-object is a 400.
    pub fn input(self, partial: bool) -> Result<Input, ApiError> {
        Input::new(self.0, partial)
    }
}

/// The body as the tutorials' plain views read it: a form when it says so,
/// otherwise JSON whatever its Content-Type (a `fetch` of a string sends
/// `text/plain`); an empty body is `{}`.
#[derive(Debug)]
pub struct ViewBody(pub Value);

/// DRF's parsers, in its order.
#[derive(Debug, PartialEq)]
enum Parser {
    Json,
    Form,
    Multipart,
}

/// The parser for a Content-Type, matched as DRF's `media_type_matches` does: in
/// any case, parameters aside, and a `*` on the request's side matches as well.
fn parser_for(content_type: &str) -> Option<Parser> {
    let full = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (main, sub) = full.split_once('/').unwrap_or((&full, ""));
    let is = |m: &str, s: &str| (main == m || main == "*") && (sub == s || sub == "*");
    if is("application", "json") {
        Some(Parser::Json)
    } else if is("application", "x-www-form-urlencoded") {
        Some(Parser::Form)
    } else if is("multipart", "form-data") {
        Some(Parser::Multipart)
    } else {
        None
    }
}

fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default()
}

fn json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("JSON parse error - {e}")))
}

/// [`Body`]'s reading.
async fn parse_body(
    headers: &HeaderMap,
    bytes: Bytes,
    with_multipart: bool,
) -> Result<Value, ApiError> {
    if bytes.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let kind = content_type(headers);
    match parser_for(&kind) {
        Some(Parser::Json) => json(&bytes),
        Some(Parser::Form) => Ok(form_to_value(&bytes)),
        Some(Parser::Multipart) if with_multipart => multipart(&kind, bytes).await,
        // DRF names the header as sent
        _ => Err(ApiError::UnsupportedMediaType(kind)),
    }
}

/// [`ViewBody`]'s reading: Django's `request.content_type` is the media type alone.
pub fn parse_view_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, ApiError> {
    let kind = content_type(headers);
    let media = kind.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        Ok(form_to_value(bytes))
    } else if bytes.is_empty() {
        Ok(Value::Object(Map::new()))
    } else {
        json(bytes)
    }
}

pub fn form_to_value(bytes: &[u8]) -> Value {
    let mut map = Map::new();
    for (k, v) in form_urlencoded::parse(bytes) {
        // the last value wins, as Django's QueryDict.dict() does
        map.insert(k.into_owned(), Value::String(v.into_owned()));
    }
    Value::Object(map)
}

/// A `multipart/form-data` body: its fields by name, the last of a name winning as
/// in a form; a part without a name is skipped, as Django skips it.
async fn multipart(content_type: &str, bytes: Bytes) -> Result<Value, ApiError> {
    let failed =
        |e: multer::Error| ApiError::BadRequest(format!("Multipart form parse error - {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(failed)?;
    let whole = futures_util::stream::once(async move { Ok::<_, Infallible>(bytes) });
    let mut form = multer::Multipart::new(whole, boundary);
    let mut map = Map::new();
    while let Some(field) = form.next_field().await.map_err(failed)? {
        let Some(name) = field.name().map(str::to_owned) else {
            continue;
        };
        let value = match field.file_name() {
            Some(file) => json!({ "file": file }),
            None => Value::String(field.text().await.map_err(failed)?),
        };
        map.insert(name, value);
    }
    Ok(Value::Object(map))
}

async fn read(req: Request) -> Result<(axum::http::request::Parts, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    // `gate` has read the body already, within BODY_LIMIT
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map_err(|e| ApiError::BadRequest(format!("Cannot read the request body: {e}")))?;
    Ok((parts, bytes))
}

impl<S: Send + Sync, const MULTIPART: bool> FromRequest<S> for Body<MULTIPART> {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let (parts, bytes) = read(req).await?;
        parse_body(&parts.headers, bytes, MULTIPART).await.map(Body)
    }
}

/// The body's bytes as `gate` read them, within BODY_LIMIT: axum's own `Bytes`
/// extractor refuses more than its 2 MiB default, with a text/plain 413.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        read(req).await.map(|(_, bytes)| RawBody(bytes))
    }
}

impl<S: Send + Sync> FromRequest<S> for ViewBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        let (parts, bytes) = read(req).await?;
        parse_view_body(&parts.headers, &bytes).map(ViewBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_become_objects() {
        assert_eq!(form_to_value(b"a=1&b=x+y"), json!({"a": "1", "b": "x y"}));
    }

    #[test]
    fn parsers_match_as_drf_matches_them() {
        for (kind, parser) in [
            ("application/json", Some(Parser::Json)),
            ("Application/JSON; charset=utf-8", Some(Parser::Json)),
            ("*/*", Some(Parser::Json)),
            ("application/x-www-form-urlencoded", Some(Parser::Form)),
            ("multipart/form-data; boundary=x", Some(Parser::Multipart)),
            ("multipart/*", Some(Parser::Multipart)),
            ("application/vnd.api+json", None),
            ("text/json", None),
            ("text/plain", None),
            ("", None),
        ] {
            assert_eq!(parser_for(kind), parser, "{kind}");
        }
    }
}
