//! Each object's pages: the add and change forms (validated by the model's save,
//! which uses the API's rules; errors shown beside their fields, the input kept) and
//! the delete confirmation listing what goes with the object.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use minijinja::context;
use serde_json::{Map, Value};

use super::guard::{Admin, AdminForm};
use super::model::{Ctx, Field, Kind, ModelAdmin, Record};
use super::render::{self, flash_cookie};
use super::views::{info, lookup, parse_id, Page};
use crate::error::ApiError;
use crate::fields::{parse_boolean, FieldErrors};
use crate::state::AppState;

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
    let mut hashed = std::collections::HashMap::new();
    for &name in m.passwords {
        if let Some(password) = data.get(name).and_then(Value::as_str) {
            if !password.is_empty() {
                hashed.insert(name, state.hasher.hash(password.to_owned()).await?);
            }
        }
    }
    let ctx = Ctx {
        actor: admin.user.clone(),
        keys: state.keys.clone(),
        hashed,
        news: std::sync::Mutex::default(),
    };
    let ctx = std::sync::Arc::new(ctx);
    let committed = (ctx.clone(), state.live.clone());
    let outcome = state
        .db
        .run_then(
            move |conn| {
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
            },
            move |_| {
                let (ctx, live) = committed;
                let news = std::mem::take(
                    &mut *ctx
                        .news
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                for (id, event) in news {
                    live.publish(id, || event);
                }
            },
        )
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
    let m = lookup(&app, &model, &admin)?;
    if action != "add" {
        let id = parse_id(&action)?;
        return Ok(render::redirect(&format!("{}{id}/change/", m.url())));
    }
    let fields = state.db.read(move |conn| (m.form)(conn, None)).await?;
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
    let m = lookup(&app, &model, &form.admin)?;
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
    let m = lookup(&app, &model, &admin)?;
    let id = parse_id(&id)?;
    if !m.editable {
        return Err(ApiError::RouteNotFound.into());
    }
    let (record, fields) = state
        .db
        .read(move |conn| Ok(((m.load)(conn, id)?, (m.form)(conn, Some(id))?)))
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
    let m = lookup(&app, &model, &form.admin)?;
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
    let m = lookup(&app, &model, &admin)?;
    let id = parse_id(&id)?;
    let models = admin.models.0;
    let (record, related) = state
        .db
        .read(move |conn| {
            let record = (m.load)(conn, id)?.ok_or(ApiError::RouteNotFound)?;
            Ok((record, (m.related)(conn, models, id)?))
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
    let m = lookup(&app, &model, &form.admin)?;
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
