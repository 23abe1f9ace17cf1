//! Request extractors and response helpers shared by every route: the body as a
//! JSON object (`body`), list paging, and the paged list response.

mod body;

pub use body::{form_to_value, parse_view_body, Body, JsonOrForm, RawBody, ViewBody};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::response::Response;
use serde::Serialize;

use crate::error::ApiError;
use crate::json::json_list;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// `?limit=&offset=` as DRF's LimitOffsetPagination reads them: a bad or missing
/// limit is the default, a large one the maximum; a bad offset is 0. Or, with
/// `?cursor=` (empty: from the start), keyset paging: the rows after the id the
/// cursor carries, so a page costs the same at any depth. Also keeps the
/// request's address to build the `Link` header.
#[derive(Clone)]
pub struct Page {
    pub limit: i64,
    pub offset: i64,
    /// The id a cursor request pages after.
    after: Option<i64>,
    uri: Uri,
    host: Option<String>,
    keys: Option<std::sync::Arc<crate::crypto::Keys>>,
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("limit", &self.limit)
            .field("offset", &self.offset)
            .field("after", &self.after)
            .finish_non_exhaustive()
    }
}

/// The rows a page's statement selects: `limit` rows from `offset` of those
/// whose id is past `after`, by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub limit: i64,
    pub offset: i64,
    pub after: i64,
}

/// A list row's id, which a cursor carries.
pub trait Keyed {
    fn key(&self) -> i64;
}

/// `Keyed` by the `id` field, for the list rows of every domain.
macro_rules! keyed_by_id {
    ($($row:ty),+) => {
        $(impl $crate::extract::Keyed for $row {
            fn key(&self) -> i64 {
                self.id
            }
        })+
    };
}
pub(crate) use keyed_by_id;

pub const INVALID_CURSOR: &str = "Invalid cursor";

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Page {
    /// What the page query asks for. A cursor page asks for one row more than it
    /// shows, to know whether there is a next one; an offset page pages after id
    /// 0, which every row is.
    pub fn window(&self) -> Window {
        match self.after {
            Some(after) => Window {
                limit: self.limit + 1,
                offset: 0,
                after,
            },
            None => Window {
                limit: self.limit,
                offset: self.offset,
                after: 0,
            },
        }
    }

    /// Where the page starts: its offset, or its cursor's key. A page that starts
    /// past 0 and finds no row has no row to carry the total (see `Db::page`).
    pub fn place(&self) -> i64 {
        self.after.unwrap_or(self.offset)
    }

    pub fn from_parts(uri: &Uri, headers: &HeaderMap) -> Self {
        let limit = query_param(uri, "limit")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|l| *l > 0)
            .map_or(DEFAULT_LIMIT, |l| l.min(MAX_LIMIT));
        let offset = query_param(uri, "offset")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|o| *o >= 0)
            .unwrap_or(0);
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        Self {
            limit,
            offset,
            after: None,
            uri: uri.clone(),
            host,
            keys: None,
        }
    }

    /// [`Page::from_parts`], reading `?cursor=` with `keys`; a cursor that is not
    /// one of this list's is a 400.
    pub fn with_cursor(
        uri: &Uri,
        headers: &HeaderMap,
        keys: &std::sync::Arc<crate::crypto::Keys>,
    ) -> Result<Self, ApiError> {
        let mut page = Self::from_parts(uri, headers);
        if let Some(cursor) = query_param(uri, "cursor") {
            let after = if cursor.is_empty() {
                Some(0)
            } else {
                keys.open_cursor(uri.path(), &cursor)
            };
            page.after = Some(after.ok_or_else(|| ApiError::BadRequest(INVALID_CURSOR.into()))?);
            page.offset = 0;
            page.keys = Some(keys.clone());
        }
        Ok(page)
    }

    /// The page's address with `limit` and `offset` (or `cursor`) replaced, other
    /// parameters kept.
    fn link(&self, offset: Option<i64>) -> String {
        self.link_to("offset", offset.map(|o| o.to_string()))
    }

    fn link_to(&self, name: &str, value: Option<String>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(q) = self.uri.query() {
            for (k, v) in form_urlencoded::parse(q.as_bytes()) {
                if k != "limit" && k != "offset" && k != "cursor" {
                    query.append_pair(&k, &v);
                }
            }
        }
        query.append_pair("limit", &self.limit.to_string());
        if let Some(value) = value {
            query.append_pair(name, &value);
        }
        let path = self.uri.path();
        match &self.host {
            Some(host) => format!("http://{host}{path}?{}", query.finish()),
            None => format!("{path}?{}", query.finish()),
        }
    }

    /// A bare JSON array with `X-Total-Count`, and `Link` when there are neighbours.
    /// `rows` is what the query of [`Page::window`] returned.
    pub fn respond<T: Serialize + Keyed>(&self, rows: &[T], total: i64) -> Response {
        if let (Some(_), Some(keys)) = (self.after, &self.keys) {
            return self.respond_after(rows, total, keys);
        }
        let mut response = json_list(rows);
        let headers = response.headers_mut();
        headers.insert("x-total-count", HeaderValue::from(total));
        let mut links = Vec::new();
        // saturating: an offset near i64::MAX must not wrap into a negative link
        let next = self.offset.saturating_add(self.limit);
        if next < total {
            links.push(format!("<{}>; rel=\"next\"", self.link(Some(next))));
        }
        if self.offset > 0 {
            let prev = self.offset - self.limit;
            links.push(format!(
                "<{}>; rel=\"prev\"",
                self.link((prev > 0).then_some(prev))
            ));
        }
        if !links.is_empty() {
            if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
                headers.insert(header::LINK, value);
            }
        }
        response
    }
}

impl Page {
    /// A cursor page: at most `limit` rows, and a `next` link when the query found
    /// one more.
    fn respond_after<T: Serialize + Keyed>(
        &self,
        rows: &[T],
        total: i64,
        keys: &crate::crypto::Keys,
    ) -> Response {
        let shown = usize::try_from(self.limit)
            .unwrap_or(usize::MAX)
            .min(rows.len());
        let (shown, more) = rows.split_at(shown);
        let mut response = json_list(shown);
        let headers = response.headers_mut();
        headers.insert("x-total-count", HeaderValue::from(total));
        if let (Some(last), false) = (shown.last(), more.is_empty()) {
            let next = keys.cursor(self.uri.path(), last.key());
            let link = format!("<{}>; rel=\"next\"", self.link_to("cursor", Some(next)));
            if let Ok(value) = HeaderValue::from_str(&link) {
                headers.insert(header::LINK, value);
            }
        }
        response
    }
}

impl FromRequestParts<crate::state::AppState> for Page {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::state::AppState,
    ) -> Result<Self, ApiError> {
        Self::with_cursor(&parts.uri, &parts.headers, &state.keys)
    }
}

/// A path id; anything that is not a number matches no route, as in Django's `<int:id>`.
#[derive(Debug, Clone, Copy)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::RouteNotFound)?;
        // Django's `<int:id>` is `[0-9]+`: no sign, no space
        if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ApiError::RouteNotFound);
        }
        raw.parse::<i64>()
            .map(Id)
            .map_err(|_| ApiError::RouteNotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(uri: &str) -> Page {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("h"));
        Page::from_parts(&uri.parse().unwrap(), &headers)
    }

    #[test]
    fn limits_are_clamped_like_drf() {
        assert_eq!(page("/x").limit, 100);
        assert_eq!(page("/x?limit=5000").limit, 1000);
        assert_eq!(page("/x?limit=-1&offset=abc").limit, 100);
        assert_eq!(page("/x?limit=2&offset=4").offset, 4);
    }

    #[test]
    fn links_keep_other_parameters() {
        let p = page("/x?album=3&limit=2&offset=4");
        assert_eq!(p.link(Some(6)), "http://h/x?album=3&limit=2&offset=6");
        assert_eq!(p.link(None), "http://h/x?album=3&limit=2");
    }
}
