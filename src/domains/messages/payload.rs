//! What a client sends and gets back for a message. Validation lives here, on
//! `fields::Input`, so the admin's forms check a message the same way.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::queries::Message;
use crate::domains::{New, Writes};
use crate::error::ApiError;
use crate::fields::Input;

/// Seed 000's `text` is a `CharField(max_length=4000)`.
pub const TEXT_MAX: usize = 4000;

/// The request body of POST and PATCH: `text` only; `id`, `sender` and
/// `timestamp` are the server's and ignored when sent.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(bound = "W: Writes")]
pub struct MessageIn<W: Writes = New> {
    /// 1-4000 characters, trimmed.
    #[schema(value_type = String)]
    pub text: W::Required<String>,
}

impl<W: Writes> MessageIn<W> {
    pub fn parse(mut input: Input) -> Result<Self, ApiError> {
        let text = input.text("text", TEXT_MAX);
        input.finish()?;
        Ok(Self {
            text: W::required(text, "text")?,
        })
    }
}

/// A message as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageOut {
    pub id: i64,
    pub text: String,
    /// The sender's username.
    pub sender: String,
    #[serde(serialize_with = "crate::time::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: NaiveDateTime,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> Self {
        Self {
            id: m.id,
            text: m.text,
            sender: m.sender,
            timestamp: m.timestamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domains::Changes;

    fn input(body: serde_json::Value, partial: bool) -> Input {
        Input::new(body, partial).unwrap()
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(
            MessageIn::<New>::parse(input(json!({"text": "  hi "}), false))
                .unwrap()
                .text,
            "hi"
        );
        assert!(
            MessageIn::<New>::parse(input(json!({"text": "x".repeat(TEXT_MAX)}), false)).is_ok()
        );
        assert!(
            MessageIn::<New>::parse(input(json!({"text": "x".repeat(TEXT_MAX + 1)}), false))
                .is_err()
        );
        assert!(MessageIn::<New>::parse(input(json!({}), false)).is_err());
    }

    #[test]
    fn a_patch_may_leave_text_out() {
        assert_eq!(
            MessageIn::<Changes>::parse(input(json!({"sender": "x"}), true)).unwrap(),
            MessageIn { text: None }
        );
        assert!(MessageIn::<Changes>::parse(input(json!({"text": ""}), true)).is_err());
    }
}

crate::extract::keyed_by_id!(MessageOut);
