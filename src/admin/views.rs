//! The admin's pages for every model: the index, the paged and searchable list, the
//! add and change forms, and the delete confirmation with what goes with it.

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;
use serde_json::{Map, Value};

use super::auth::{Admin, AdminForm};
use super::model::{Ctx, Field, Kind, ListQuery, ModelAdmin, Record, PER_PAGE};
use super::render::{self, flash_cookie, AdminError};
use crate::app::AppState;
use crate::auth::users::User;
use crate::error::ApiError;
use crate::fields::{parse_boolean, FieldErrors};

type Page = Result<Response, AdminError>;

fn lookup(app: &str, model: &str, user: &User) -> Result<&'static ModelAdmin, AdminError> {
    let found = super::MODELS
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

fn parse_id(raw: &str) -> Result<i64, AdminError> {
    raw.parse().map_err(|_| ApiError::RouteNotFound.into())
}

fn info(m: &ModelAdmin) -> minijinja::Value {
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

fn groups(user: &User, app: Option<&str>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for m in super::MODELS.iter().filter(|m| m.allowed(user)) {
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
    let groups = groups(&admin.user, None);
    admin.page(
        StatusCode::OK,
        "index.html",
        context! { title => "Site administration", groups },
    )
}

/// `GET /admin/<app>/`: one domain's models.
pub async fn app_index(admin: Admin, Path(app): Path<String>) -> Page {
    let groups = groups(&admin.user, Some(&app));
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
    let m = lookup(&app, &model, &admin.user)?;
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
    let (q, o) = (param("q"), param("o"));
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
    let listing = state.db.run(move |conn| (m.list)(conn, &query)).await?;
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

/// The form's fields with their values and errors, and the errors of no field.
fn form_context(
    fields: &[Field],
    values: &Map<String, Value>,
    errors: &FieldErrors,
) -> (Vec<minijinja::Value>, Vec<String>) {
    let shown = fields
        .iter()
        .map(|f| {
            let value = match values.get(f.name) {
                _ if f.kind == Kind::Password => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(Value::Null) | None => f.initial.unwrap_or_default().to_owned(),
                Some(other) => other.to_string(),
            };
            let checked = values.get(f.name).map_or(f.initial == Some("true"), |v| {
                parse_boolean(v) == Some(true)
            });
            context! {
                value, checked, errors => errors.get(f.name).unwrap_or_default(),
                ..minijinja::Value::from_serialize(f)
            }
        })
        .collect();
    let mut other = Vec::new();
    for (name, messages) in errors.iter() {
        if fields.iter().any(|f| f.name == name) {
            continue;
        }
        for message in messages {
            other.push(if name == "non_field_errors" {
                message.clone()
            } else {
                format!("{name}: {message}")
            });
        }
    }
    (shown, other)
}

fn form_page(
    admin: &Admin,
    m: &ModelAdmin,
    record: Option<&Record>,
    fields: &[Field],
    values: &Map<String, Value>,
    errors: &FieldErrors,
) -> Response {
    let (fields, other_errors) = form_context(fields, values, errors);
    let (title, action, delete_url, object) = match record {
        Some(r) => (
            format!("Change {}", m.singular),
            format!("{}{}/change/", m.url(), r.id),
            Some(format!("{}{}/delete/", m.url(), r.id)),
            Some(r.title.clone()),
        ),
        None => (
            format!("Add {}", m.singular),
            format!("{}add/", m.url()),
            None,
            None,
        ),
    };
    admin.page(
        StatusCode::OK,
        "form.html",
        context! {
            title, model => info(m), fields, other_errors, action, delete_url, object,
            has_errors => !errors.is_empty(), error_count => errors.iter().count(),
        },
    )
}

/// The POSTed form as a save reads it: checkboxes as booleans (absent = unchecked).
fn form_values(fields: &[Field], data: Value) -> Map<String, Value> {
    let Value::Object(mut data) = data else {
        return Map::new();
    };
    data.remove("csrfmiddlewaretoken");
    for f in fields.iter().filter(|f| f.kind == Kind::Checkbox) {
        let on = data
            .get(f.name)
            .is_some_and(|v| v.as_str() != Some("false"));
        data.insert(f.name.to_owned(), Value::Bool(on));
    }
    data
}

enum Saved {
    Done(Record),
    Invalid(Option<Record>, Vec<Field>, Map<String, Value>, FieldErrors),
}

fn done(m: &ModelAdmin, record: &Record, verb: &str) -> Response {
    let message = format!(
        "The {} “{}” was {verb} successfully.",
        m.singular, record.title
    );
    let mut response = render::redirect(&m.url());
    response
        .headers_mut()
        .append(header::SET_COOKIE, flash_cookie(&message));
    response
}

/// Validates and writes an add (`id` none) or change, in one database hop.
async fn save(state: AppState, form: AdminForm, m: &'static ModelAdmin, id: Option<i64>) -> Page {
    let AdminForm { admin, data } = form;
    let ctx = Ctx {
        actor: admin.user.clone(),
        keys: state.keys.clone(),
        hasher: state.hasher.clone(),
    };
    let outcome = state
        .db
        .run(move |conn| {
            let fields = (m.form)(conn, id)?;
            let record = match id {
                Some(id) => Some((m.load)(conn, id)?.ok_or(ApiError::RouteNotFound)?),
                None => None,
            };
            let values = form_values(&fields, data);
            match (m.save)(conn, &ctx, id, Value::Object(values.clone())) {
                Ok(saved) => Ok(Saved::Done(saved)),
                Err(ApiError::Validation(errors)) => {
                    Ok(Saved::Invalid(record, fields, values, errors))
                }
                Err(e) => Err(e),
            }
        })
        .await?;
    Ok(match outcome {
        Saved::Done(record) => done(m, &record, if id.is_some() { "changed" } else { "added" }),
        Saved::Invalid(record, fields, values, errors) => {
            form_page(&admin, m, record.as_ref(), &fields, &values, &errors)
        }
    })
}

/// `GET /admin/<app>/<model>/add/` (and `<id>/`, which goes to its change page).
pub async fn add_form(
    admin: Admin,
    State(state): State<AppState>,
    Path((app, model, action)): Path<(String, String, String)>,
) -> Page {
    let m = lookup(&app, &model, &admin.user)?;
    if action != "add" {
        let id = parse_id(&action)?;
        return Ok(render::redirect(&format!("{}{id}/change/", m.url())));
    }
    let fields = state.db.run(move |conn| (m.form)(conn, None)).await?;
    Ok(form_page(
        &admin,
        m,
        None,
        &fields,
        &Map::new(),
        &FieldErrors::default(),
    ))
}

/// `POST /admin/<app>/<model>/add/`.
pub async fn add(
    State(state): State<AppState>,
    Path((app, model, action)): Path<(String, String, String)>,
    form: AdminForm,
) -> Page {
    let m = lookup(&app, &model, &form.admin.user)?;
    if action != "add" {
        return Err(ApiError::RouteNotFound.into());
    }
    save(state, form, m, None).await
}

type ObjectPath = Path<(String, String, String, String)>;

/// `GET /admin/<app>/<model>/<id>/change/` or `…/delete/`.
pub async fn object_page(admin: Admin, state: State<AppState>, Path(p): ObjectPath) -> Page {
    let (app, model, id, action) = p;
    match action.as_str() {
        "change" => change_form(admin, state, app, model, id).await,
        "delete" => delete_form(admin, state, app, model, id).await,
        _ => Err(ApiError::RouteNotFound.into()),
    }
}

/// `POST /admin/<app>/<model>/<id>/change/` or `…/delete/`.
pub async fn object_post(state: State<AppState>, Path(p): ObjectPath, form: AdminForm) -> Page {
    let (app, model, id, action) = p;
    match action.as_str() {
        "change" => change(state, app, model, id, form).await,
        "delete" => delete(state, app, model, id, form).await,
        _ => Err(ApiError::RouteNotFound.into()),
    }
}

async fn change_form(
    admin: Admin,
    State(state): State<AppState>,
    app: String,
    model: String,
    id: String,
) -> Page {
    let m = lookup(&app, &model, &admin.user)?;
    let id = parse_id(&id)?;
    if !m.editable {
        return Err(ApiError::RouteNotFound.into());
    }
    let (record, fields) = state
        .db
        .run(move |conn| Ok(((m.load)(conn, id)?, (m.form)(conn, Some(id))?)))
        .await?;
    let record = record.ok_or(ApiError::RouteNotFound)?;
    Ok(form_page(
        &admin,
        m,
        Some(&record),
        &fields,
        &record.values,
        &FieldErrors::default(),
    ))
}

async fn change(
    State(state): State<AppState>,
    app: String,
    model: String,
    id: String,
    form: AdminForm,
) -> Page {
    let m = lookup(&app, &model, &form.admin.user)?;
    let id = parse_id(&id)?;
    if !m.editable {
        return Err(ApiError::RouteNotFound.into());
    }
    save(state, form, m, Some(id)).await
}

/// What will go, and a button to confirm.
async fn delete_form(
    admin: Admin,
    State(state): State<AppState>,
    app: String,
    model: String,
    id: String,
) -> Page {
    let m = lookup(&app, &model, &admin.user)?;
    let id = parse_id(&id)?;
    let (record, related) = state
        .db
        .run(move |conn| {
            let record = (m.load)(conn, id)?.ok_or(ApiError::RouteNotFound)?;
            Ok((record, (m.related)(conn, id)?))
        })
        .await?;
    let back = if m.editable {
        format!("{}{id}/change/", m.url())
    } else {
        m.url()
    };
    Ok(admin.page(
        StatusCode::OK,
        "delete.html",
        context! {
            title => "Are you sure?", model => info(m), object => record.title, related, back,
            action => format!("{}{id}/delete/", m.url()),
        },
    ))
}

/// Deletes it and what goes with it.
async fn delete(
    State(state): State<AppState>,
    app: String,
    model: String,
    id: String,
    form: AdminForm,
) -> Page {
    let m = lookup(&app, &model, &form.admin.user)?;
    let id = parse_id(&id)?;
    let record = state
        .db
        .run(move |conn| {
            let record = (m.load)(conn, id)?.ok_or(ApiError::RouteNotFound)?;
            (m.delete)(conn, id)?;
            Ok(record)
        })
        .await?;
    Ok(done(m, &record, "deleted"))
}
