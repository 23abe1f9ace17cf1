//! Request-body fields parsed with Django REST framework's rules and messages, so
//! that the API and the admin forms validate one way. A domain's input type calls
//! these per field, collects every error, then `finish()`es.

use std::fmt::Write as _;

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::error::ApiError;
// defined beside the error that carries it, so that error.rs needs nothing from here
pub use crate::error::FieldErrors;

pub const REQUIRED: &str = "This field is required.";
pub const BLANK: &str = "This field may not be blank.";
pub const NULL: &str = "This field may not be null.";
pub const NOT_A_STRING: &str = "Not a valid string.";
pub const INVALID_INTEGER: &str = "A valid integer is required.";
pub const INVALID_BOOLEAN: &str = "Must be a valid boolean.";
pub const NUL_CHARACTERS: &str = "Null characters are not allowed.";
pub const INVALID_DATE: &str =
    "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";

/// A request body as a JSON object, read field by field. With `partial` (PATCH) a
/// missing field is simply absent; otherwise a missing required field is an error.
#[derive(Debug)]
pub struct Input {
    map: Map<String, Value>,
    partial: bool,
    errors: FieldErrors,
}

/// The JSON type name as Python reports it, for DRF's messages.
pub fn python_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

impl Input {
    /// Anything but an object is DRF's `non_field_errors` 400.
    pub fn new(body: Value, partial: bool) -> Result<Self, ApiError> {
        match body {
            Value::Object(map) => Ok(Self {
                map,
                partial,
                errors: FieldErrors::default(),
            }),
            // a serializer's `null` message, as DRF answers a body of `null`
            Value::Null => Err(ApiError::non_field("No data provided")),
            other => Err(ApiError::non_field(format!(
                "Invalid data. Expected a dictionary, but got {}.",
                python_type(&other)
            ))),
        }
    }

    pub fn is_partial(&self) -> bool {
        self.partial
    }

    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.add(field, message);
    }

    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub fn finish(self) -> Result<(), ApiError> {
        self.errors.into_result()
    }

    /// The field's value, or `None` after recording "required" (unless partial).
    fn present(&mut self, name: &str, required: bool) -> Option<Value> {
        match self.map.get(name) {
            Some(v) => Some(v.clone()),
            None => {
                if required && !self.partial {
                    self.errors.add(name, REQUIRED);
                }
                None
            }
        }
    }

    /// A CharField: whitespace trimmed, not blank, at most `max` characters.
    pub fn text(&mut self, name: &str, max: usize) -> Option<String> {
        self.string(name, Some(max), false, true)
    }

    /// A TextField with no length limit (still trimmed, not blank).
    pub fn long_text(&mut self, name: &str) -> Option<String> {
        self.string(name, None, false, true)
    }

    /// A password: required, not blank, at most `max` characters, and never trimmed.
    pub fn password(&mut self, name: &str, max: usize) -> Option<String> {
        let value = self.present(name, true)?;
        let text = match value {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Null => {
                self.errors.add(name, NULL);
                return None;
            }
            _ => {
                self.errors.add(name, NOT_A_STRING);
                return None;
            }
        };
        if text.is_empty() {
            self.errors.add(name, BLANK);
            return None;
        }
        self.checked(name, text, Some(max))
    }

    /// DRF's CharField validators, every one that fails reported: the length,
    /// then no NUL (which PostgreSQL cannot store in text).
    fn checked(&mut self, name: &str, text: String, max: Option<usize>) -> Option<String> {
        let mut ok = true;
        if let Some(max) = max {
            if text.chars().count() > max {
                self.errors.add(
                    name,
                    format!("Ensure this field has no more than {max} characters."),
                );
                ok = false;
            }
        }
        if text.contains('\0') {
            self.errors.add(name, NUL_CHARACTERS);
            ok = false;
        }
        ok.then_some(text)
    }

    /// A CharField with every option spelled out.
    pub fn string(
        &mut self,
        name: &str,
        max: Option<usize>,
        allow_blank: bool,
        required: bool,
    ) -> Option<String> {
        let value = self.present(name, required)?;
        let text = match value {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Null => {
                self.errors.add(name, NULL);
                return None;
            }
            _ => {
                self.errors.add(name, NOT_A_STRING);
                return None;
            }
        };
        if text.is_empty() && !allow_blank {
            self.errors.add(name, BLANK);
            return None;
        }
        self.checked(name, text, max)
    }

    /// An IntegerField, optionally with a minimum.
    pub fn integer(&mut self, name: &str, min: Option<i64>) -> Option<i64> {
        let value = self.present(name, true)?;
        let Some(n) = parse_integer(&value) else {
            self.errors.add(
                name,
                if value.is_null() {
                    NULL
                } else {
                    INVALID_INTEGER
                },
            );
            return None;
        };
        if let Some(min) = min {
            if n < min {
                self.errors.add(
                    name,
                    format!("Ensure this value is greater than or equal to {min}."),
                );
                return None;
            }
        }
        Some(n)
    }

    /// A BooleanField; absent stays `None` (the caller applies its default).
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        let value = self.map.get(name)?.clone();
        let parsed = parse_boolean(&value);
        if parsed.is_none() {
            self.errors.add(
                name,
                if value.is_null() {
                    NULL
                } else {
                    INVALID_BOOLEAN
                },
            );
        }
        parsed
    }

    /// A DateField in ISO 8601 (`YYYY-MM-DD`).
    pub fn date(&mut self, name: &str) -> Option<NaiveDate> {
        let value = self.present(name, true)?;
        let parsed = value.as_str().and_then(parse_date);
        if parsed.is_none() {
            self.errors
                .add(name, if value.is_null() { NULL } else { INVALID_DATE });
        }
        parsed
    }

    /// A PrimaryKeyRelatedField's type check; the caller checks that the row exists
    /// and reports it with [`does_not_exist`].
    pub fn pk(&mut self, name: &str) -> Option<i64> {
        let value = self.present(name, true)?;
        let parsed = match &value {
            Value::Number(_) => parse_integer(&value),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        if parsed.is_none() {
            let message = if value.is_null() {
                NULL.to_owned()
            } else {
                format!(
                    "Incorrect type. Expected pk value, received {}.",
                    python_type(&value)
                )
            };
            self.errors.add(name, message);
        }
        parsed
    }
}

/// A value as the tutorials' plain views read it with `data.get(...)`: strings
/// and numbers as text, anything else as absent.
pub fn loose_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// DRF's message for a foreign key to a row that does not exist.
pub fn does_not_exist(pk: i64) -> String {
    format!("Invalid pk \"{pk}\" - object does not exist.")
}

/// DRF's IntegerField: ints, integral floats and numeric strings; never booleans.
pub fn parse_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| {
            let f = n.as_f64()?;
            #[expect(
                clippy::cast_possible_truncation,
                reason = "checked integral and in range"
            )]
            (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
        }),
        Value::String(s) if s.len() <= 1000 => {
            let s = s.trim();
            s.parse().ok().or_else(|| {
                // "12.0" is accepted, as by DRF
                let (whole, frac) = s.split_once('.')?;
                frac.chars()
                    .all(|c| c == '0')
                    .then(|| whole.parse().ok())
                    .flatten()
            })
        }
        _ => None,
    }
}

/// `YYYY-MM-DD` with a four-digit year from 0001, as Python's `date` has them:
/// chrono alone also takes a sign and a fifth digit (`+10000-01-01`).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let year = text.get(..4)?;
    if !year.bytes().all(|b| b.is_ascii_digit()) || year == "0000" {
        return None;
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

/// DRF's BooleanField truth tables.
pub fn parse_boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Value::String(s) => match s.as_str() {
            "t" | "T" | "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on"
            | "On" | "ON" | "1" => Some(true),
            "f" | "F" | "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off"
            | "Off" | "OFF" | "0" => Some(false),
            _ => None,
        },
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// Messages joined by one space, as the tutorials' plain views print them.
pub fn join_messages<'a>(messages: impl IntoIterator<Item = &'a String>) -> String {
    let mut out = String::new();
    for m in messages {
        if !out.is_empty() {
            out.push(' ');
        }
        let _ = write!(out, "{m}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_have_four_digit_years_without_a_sign() {
        assert!(parse_date("2001-02-03").is_some());
        assert!(parse_date("0001-01-01").is_some());
        for bad in [
            "+10000-01-01",
            "-0001-01-01",
            "0000-01-01",
            "10000-01-01",
            "+2001-02-03",
            "201-02-03",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_are_strict_iso_like_drf() {
        let mut input = Input::new(
            serde_json::json!({"a": "2001-02-03", "b": " 2001-02-03 ", "c": "2001-13-01"}),
            false,
        )
        .unwrap();
        assert!(input.date("a").is_some());
        assert!(input.date("b").is_none());
        assert!(input.date("c").is_none());
        assert_eq!(
            serde_json::to_value(match input.finish() {
                Err(ApiError::Validation(e)) => e,
                other => panic!("{other:?}"),
            })
            .unwrap(),
            serde_json::json!({"b": [INVALID_DATE], "c": [INVALID_DATE]})
        );
    }
}
