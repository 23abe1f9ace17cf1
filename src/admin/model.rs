//! What the admin knows of a model: a `ModelAdmin` per model (its names, list
//! columns, search fields, form fields, and the functions that list, load, save and
//! delete it), written by the model's domain in its own `admin.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::users::User;
use crate::crypto::Keys;
use crate::db::Conn;
use crate::error::ApiError;

/// Rows on one list page, as Django's `list_per_page`.
pub const PER_PAGE: i64 = 100;

/// Who is saving, and what a save may need.
pub struct Ctx {
    pub actor: User,
    pub keys: Arc<Keys>,
    /// The form's [`ModelAdmin::passwords`] that were given, hashed before the save
    /// runs: a save runs inside `Db::run`, where a hash would hold up every write.
    pub hashed: HashMap<&'static str, String>,
    /// New messages, for stream clients once the save is committed.
    pub news: std::sync::Mutex<crate::live::Rows>,
}

/// A list column: `key` is what `?o=` names, `label` its heading.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Column {
    pub key: &'static str,
    pub label: &'static str,
}

pub const fn col(key: &'static str, label: &'static str) -> Column {
    Column { key, label }
}

/// How a form field is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Text,
    Textarea,
    Number,
    Date,
    Checkbox,
    Select,
    Password,
}

/// One form field; `choices` (value, label) for a select.
#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: Kind,
    pub max: Option<usize>,
    pub required: bool,
    pub help: &'static str,
    pub choices: Vec<(String, String)>,
    /// The value of an add form (`"true"` checks a checkbox).
    pub initial: Option<&'static str>,
}

impl Field {
    pub fn new(name: &'static str, label: &'static str, kind: Kind) -> Self {
        Self {
            name,
            label,
            kind,
            max: None,
            required: !matches!(kind, Kind::Checkbox),
            help: "",
            choices: Vec::new(),
            initial: None,
        }
    }
    pub fn text(name: &'static str, label: &'static str, max: usize) -> Self {
        Self {
            max: Some(max),
            ..Self::new(name, label, Kind::Text)
        }
    }
    pub fn select(name: &'static str, label: &'static str, choices: Vec<(i64, String)>) -> Self {
        Self {
            choices: choices
                .into_iter()
                .map(|(id, label)| (id.to_string(), label))
                .collect(),
            ..Self::new(name, label, Kind::Select)
        }
    }
    #[must_use]
    pub fn help(mut self, help: &'static str) -> Self {
        self.help = help;
        self
    }
    #[must_use]
    pub fn initial(mut self, value: &'static str) -> Self {
        self.initial = Some(value);
        self
    }
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }
}

/// `?q=`, `?o=` (already checked against the columns) and the page.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub q: String,
    pub sort: Option<&'static str>,
    pub desc: bool,
    pub limit: i64,
    pub offset: i64,
}

impl ListQuery {
    /// `%q%` lowercased with LIKE's wildcards escaped (by `\`), or `None` for no search.
    pub fn pattern(&self) -> Option<String> {
        let q = self.q.trim();
        if q.is_empty() {
            return None;
        }
        let mut out = String::from("%");
        for c in q.to_lowercase().chars() {
            if matches!(c, '%' | '_' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('%');
        Some(out)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: i64,
    pub cells: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub rows: Vec<Row>,
    pub total: i64,
}

/// An object: its id, how it is named, and its form values by field name.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: i64,
    pub title: String,
    pub values: Map<String, Value>,
}

/// Objects that go with a deleted one: the model's name and each object's name.
#[derive(Debug, Clone, Serialize)]
pub struct Related {
    pub model: &'static str,
    pub items: Vec<String>,
}

pub type ListFn = fn(&mut Conn, &ListQuery) -> Result<Listing, ApiError>;
pub type FormFn = fn(&mut Conn, Option<i64>) -> Result<Vec<Field>, ApiError>;
pub type LoadFn = fn(&mut Conn, i64) -> Result<Option<Record>, ApiError>;
pub type SaveFn = fn(&mut Conn, &Ctx, Option<i64>, Value) -> Result<Record, ApiError>;
/// What goes with a deleted object; it is given the site's models.
pub type RelatedFn = fn(&mut Conn, &[&ModelAdmin], i64) -> Result<Vec<Related>, ApiError>;
/// A user's objects of one model, which go with the user.
pub type OfUserFn = fn(&mut Conn, i64) -> Result<Related, ApiError>;
pub type DeleteFn = fn(&mut Conn, i64) -> Result<bool, ApiError>;

/// One model in the admin, at `/admin/<app>/<model>/`.
pub struct ModelAdmin {
    pub app: &'static str,
    pub app_label: &'static str,
    pub model: &'static str,
    pub singular: &'static str,
    pub plural: &'static str,
    /// Users and tokens: only superusers see them.
    pub superuser_only: bool,
    /// False for models with an add form only (tokens).
    pub editable: bool,
    pub columns: &'static [Column],
    /// The searched fields, as the search box's hint names them.
    pub search: &'static str,
    pub form: FormFn,
    pub list: ListFn,
    pub load: LoadFn,
    /// Validates the form (a JSON object of strings, checkboxes as "true"/"false")
    /// with the API's own rules and writes; `ApiError::Validation` on bad input.
    pub save: SaveFn,
    /// Form fields holding a new password, hashed before `save` into [`Ctx::hashed`].
    pub passwords: &'static [&'static str],
    pub related: RelatedFn,
    /// The model's objects that a deleted user takes along (`None`: none do).
    pub of_user: Option<OfUserFn>,
    pub delete: DeleteFn,
}

impl ModelAdmin {
    pub fn allowed(&self, user: &User) -> bool {
        user.is_staff && (user.is_superuser || !self.superuser_only)
    }

    pub fn url(&self) -> String {
        format!("/admin/{}/{}/", self.app, self.model)
    }
}
