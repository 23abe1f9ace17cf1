//! What a client sends and gets back for a task. Validation lives here, on
//! `fields::Input`, so the admin's forms check a task the same way.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::queries::Task;
use crate::domains::{New, Writes};
use crate::error::ApiError;
use crate::fields::Input;

/// Seed 001's `title` is a `CharField(max_length=200)`.
pub const TITLE_MAX: usize = 200;

/// The request body of POST, PUT and PATCH. POST and PUT need `title`; PATCH
/// needs nothing. `completed` is optional everywhere: absent on POST means
/// `false`, absent on PUT or PATCH means unchanged, as DRF treats a model field
/// with a default. `id`, `user` and the timestamps are the server's and ignored
/// when sent.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(bound = "W: Writes")]
pub struct TaskIn<W: Writes = New> {
    /// 1-200 characters, trimmed; required by POST and PUT.
    #[schema(value_type = String)]
    pub title: W::Required<String>,
    /// Defaults to `false` on POST.
    pub completed: Option<bool>,
}

impl<W: Writes> TaskIn<W> {
    pub fn parse(mut input: Input) -> Result<Self, ApiError> {
        let title = input.text("title", TITLE_MAX);
        let completed = input.boolean("completed");
        input.finish()?;
        Ok(Self {
            title: W::required(title, "title")?,
            completed,
        })
    }
}

/// A task as its owner sees it (the owner is never shown).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TaskOut {
    pub id: i64,
    pub title: String,
    pub completed: bool,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
}

impl From<Task> for TaskOut {
    fn from(t: Task) -> Self {
        Self {
            id: t.id,
            title: t.title,
            completed: t.completed,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domains::Changes;

    fn parse(body: serde_json::Value, partial: bool) -> Result<TaskIn<Changes>, ApiError> {
        TaskIn::parse(Input::new(body, partial).unwrap())
    }

    #[test]
    fn put_needs_a_title_and_patch_does_not() {
        assert!(parse(json!({"completed": true}), false).is_err());
        assert_eq!(
            parse(json!({"completed": "on"}), true).unwrap(),
            TaskIn {
                title: None,
                completed: Some(true)
            }
        );
    }

    #[test]
    fn every_field_error_is_reported() {
        let Err(ApiError::Validation(errors)) = parse(
            json!({"title": "x".repeat(201), "completed": "maybe"}),
            false,
        ) else {
            panic!("expected a validation error");
        };
        assert!(errors.get("title").is_some() && errors.get("completed").is_some());
    }
}

crate::extract::keyed_by_id!(TaskOut);
