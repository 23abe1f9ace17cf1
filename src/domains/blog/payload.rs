//! The blog's request and response shapes. Validation lives here, so the API and
//! the admin forms check a post the same way.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::domains::{New, Writes};
use crate::error::ApiError;
use crate::fields::Input;

use super::queries::Post;

pub const TITLE_MAX: usize = 100;

/// A post's writable fields. For a create or PUT both are present; for a PATCH
/// either may be absent (left as it is).
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(bound = "W: Writes")]
pub struct PostIn<W: Writes = New> {
    /// 1-100 characters, trimmed.
    #[schema(value_type = Option<String>)]
    pub title: W::Required<String>,
    /// Not blank, trimmed.
    #[schema(value_type = Option<String>)]
    pub content: W::Required<String>,
}

impl<W: Writes> PostIn<W> {
    /// DRF's `BlogPostSerializer` rules. Other fields (`id`, `author`, timestamps)
    /// are ignored.
    pub fn parse(mut input: Input) -> Result<Self, ApiError> {
        let title = input.text("title", TITLE_MAX);
        let content = input.long_text("content");
        input.finish()?;
        Ok(Self {
            title: W::required(title, "title")?,
            content: W::required(content, "content")?,
        })
    }
}

/// A post as the API shows it: `author` is the author's username.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostOut {
    pub id: i64,
    pub title: String,
    pub content: String,
    pub author: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
}

impl From<Post> for PostOut {
    fn from(p: Post) -> Self {
        Self {
            id: p.id,
            title: p.title,
            content: p.content,
            author: p.author,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domains::Changes;
    use serde_json::{json, Value};

    fn parse(body: Value, partial: bool) -> Result<PostIn<Changes>, ApiError> {
        PostIn::parse(Input::new(body, partial)?)
    }

    #[test]
    fn a_patch_may_leave_fields_out_but_a_put_may_not() {
        assert_eq!(parse(json!({"content": "c"}), true).unwrap().title, None);
        assert!(parse(json!({"content": "c"}), false).is_err());
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        let post = parse(json!({"title": "  t  ", "content": "c"}), false).unwrap();
        assert_eq!(post.title.as_deref(), Some("t"));
        assert!(parse(json!({"title": "x".repeat(101), "content": "c"}), false).is_err());
    }
}

crate::extract::keyed_by_id!(PostOut);
