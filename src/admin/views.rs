//! The admin's index pages and each model's list: paged by 100, searched with
//! `?q=`, sorted with `?o=field` or `?o=-field`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;

use super::guard::Admin;
use super::model::{ListQuery, ModelAdmin, PER_PAGE};
use super::render::AdminError;
use crate::error::ApiError;
use crate::state::AppState;

pub(super) type Page = Result<Response, AdminError>;

pub(super) fn lookup(
    app: &str,
    model: &str,
    admin: &Admin,
) -> Result<&'static ModelAdmin, AdminError> {
    let user = &admin.user;
    let found = admin
        .models
        .0
        .iter()
        .copied()
        .find(|m| m.app == app && m.model == model)
        .ok_or(ApiError::RouteNotFound)?;
    if found.allowed(user) {
        Ok(found)
    } else {
        Err(ApiError::PermissionDenied.into())
    }
}

pub(super) fn parse_id(raw: &str) -> Result<i64, AdminError> {
    raw.parse().map_err(|_| ApiError::RouteNotFound.into())
}

pub(super) fn info(m: &ModelAdmin) -> minijinja::Value {
    context! {
        singular => m.singular, plural => m.plural, app_label => m.app_label,
        app_url => format!("/admin/{}/", m.app), url => m.url(),
        add_url => format!("{}add/", m.url()), editable => m.editable, search => m.search,
    }
}

#[derive(Serialize)]
struct Group {
    label: &'static str,
    url: String,
    models: Vec<minijinja::Value>,
}

fn groups(admin: &Admin, app: Option<&str>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for m in admin.models.0.iter().filter(|m| m.allowed(&admin.user)) {
        if app.is_some_and(|a| a != m.app) {
            continue;
        }
        match groups.last_mut() {
            Some(g) if g.label == m.app_label => g.models.push(info(m)),
            _ => groups.push(Group {
                label: m.app_label,
                url: format!("/admin/{}/", m.app),
                models: vec![info(m)],
            }),
        }
    }
    groups
}

/// `GET /admin/`: every model the user may see, by domain.
pub async fn index(admin: Admin) -> Response {
    let groups = groups(&admin, None);
    admin.page(
        StatusCode::OK,
        "index.html",
        context! { title => "Site administration", groups },
    )
}

/// `GET /admin/<app>/`: one domain's models.
pub async fn app_index(admin: Admin, Path(app): Path<String>) -> Page {
    let groups = groups(&admin, Some(&app));
    let Some(first) = groups.first() else {
        return Err(ApiError::RouteNotFound.into());
    };
    let title = format!("{} administration", first.label);
    Ok(admin.page(StatusCode::OK, "index.html", context! { title, groups }))
}

/// Anything else under `/admin/`: a slash added to a GET, else 404 (anonymous
/// visitors are sent to log in first, as Django's admin does).
pub async fn unknown(method: axum::http::Method, uri: axum::http::Uri, admin: Admin) -> Page {
    let _ = admin;
    if method == axum::http::Method::GET && !uri.path().ends_with('/') {
        let to = match uri.query() {
            Some(q) => format!("{}/?{q}", uri.path()),
            None => format!("{}/", uri.path()),
        };
        return Ok((StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, to)]).into_response());
    }
    Err(ApiError::RouteNotFound.into())
}

fn link(base: &str, q: &str, o: &str, p: i64) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        query.append_pair("q", q);
    }
    if !o.is_empty() {
        query.append_pair("o", o);
    }
    if p > 1 {
        query.append_pair("p", &p.to_string());
    }
    let query = query.finish();
    if query.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{query}")
    }
}

/// Page numbers to show: all of a few, else the ends and the neighbourhood (0 = a gap).
fn page_numbers(current: i64, pages: i64) -> Vec<i64> {
    if pages <= 10 {
        return (1..=pages).collect();
    }
    let mut out = Vec::new();
    for n in 1..=pages {
        if n <= 2 || n > pages - 2 || (n - current).abs() <= 2 {
            out.push(n);
        } else if out.last() != Some(&0) {
            out.push(0);
        }
    }
    out
}

/// `GET /admin/<app>/<model>/?q=&o=&p=`: a page of 100, searched and sorted.
pub async fn list(
    admin: Admin,
    State(state): State<AppState>,
    Path((app, model)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Page {
    let m = lookup(&app, &model, &admin)?;
    let params: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (mut q, o) = (param("q"), param("o"));
    // Django's search form refuses a NUL and lists everything; PostgreSQL cannot take it
    if q.contains('\0') {
        q.clear();
    }
    let (desc, key) = o
        .strip_prefix('-')
        .map_or((false, o.as_str()), |k| (true, k));
    let sort = m.columns.iter().find(|c| c.key == key).map(|c| c.key);
    let o = if sort.is_some() {
        o.clone()
    } else {
        String::new()
    };
    let page = param("p").parse::<i64>().unwrap_or(1).max(1);
    let query = ListQuery {
        q: q.clone(),
        sort,
        desc,
        limit: PER_PAGE,
        offset: (page - 1).saturating_mul(PER_PAGE),
    };
    let listing = state.db.read(move |conn| (m.list)(conn, &query)).await?;
    let pages = ((listing.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let base = m.url();
    let columns: Vec<minijinja::Value> = m
        .columns
        .iter()
        .map(|c| {
            let current = sort == Some(c.key);
            let next = if current && !desc {
                format!("-{}", c.key)
            } else {
                c.key.to_owned()
            };
            context! {
                label => c.label, url => link(&base, &q, &next, 1),
                sorted => if current { if desc { "desc" } else { "asc" } } else { "" },
            }
        })
        .collect();
    let page_links: Vec<minijinja::Value> = page_numbers(page, pages)
        .into_iter()
        .map(|n| context! { n, url => link(&base, &q, &o, n), current => n == page })
        .collect();
    let title = format!("Select {} to change", m.singular);
    Ok(admin.page(
        StatusCode::OK,
        "list.html",
        context! {
            title, model => info(m), columns, rows => listing.rows, total => listing.total,
            q, o, pages, page, page_links, clear_url => link(&base, "", &o, 1),
        },
    ))
}
