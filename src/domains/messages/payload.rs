//! What a client sends and gets back for a message. Validation lives here, on
//! `fields::Input`, so the admin's forms check a message the same way.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::queries::Message;
use crate::error::ApiError;
use crate::fields::{Input, REQUIRED};

/// Seed 000's `text` is a `CharField(max_length=4000)`.
pub const TEXT_MAX: usize = 4000;

/// A new message: `text` only; `id`, `sender` and `timestamp` are the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub text: String,
}

impl NewMessage {
    pub fn parse(mut input: Input) -> Result<Self, ApiError> {
        let text = input.text("text", TEXT_MAX);
        input.finish()?;
        // a non-partial input without an error has every required field
        let text = text.ok_or_else(|| ApiError::field("text", REQUIRED))?;
        Ok(Self { text })
    }
}

/// A PATCH: the fields that were sent.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageChanges {
    pub text: Option<String>,
}

impl MessageChanges {
    pub fn parse(mut input: Input) -> Result<Self, ApiError> {
        let text = input.text("text", TEXT_MAX);
        input.finish()?;
        Ok(Self { text })
    }
}

/// The request body of POST and PATCH, for the `OpenAPI` document.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MessageIn {
    /// 1-4000 characters, trimmed.
    pub text: String,
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

    fn input(body: serde_json::Value, partial: bool) -> Input {
        Input::new(body, partial).unwrap()
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(
            NewMessage::parse(input(json!({"text": "  hi "}), false))
                .unwrap()
                .text,
            "hi"
        );
        assert!(NewMessage::parse(input(json!({"text": "x".repeat(TEXT_MAX)}), false)).is_ok());
        assert!(
            NewMessage::parse(input(json!({"text": "x".repeat(TEXT_MAX + 1)}), false)).is_err()
        );
        assert!(NewMessage::parse(input(json!({}), false)).is_err());
    }

    #[test]
    fn a_patch_may_leave_text_out() {
        assert_eq!(
            MessageChanges::parse(input(json!({"sender": "x"}), true)).unwrap(),
            MessageChanges::default()
        );
        assert!(MessageChanges::parse(input(json!({"text": ""}), true)).is_err());
    }
}
