//! The catalogue's request and response shapes. Validation lives here, so the API
//! and the admin forms check albums, songs and likes the same way. Unlike the
//! other domains' payloads, a song's and a like's parse also take a closure: a
//! foreign key's existence is one of their field errors (DRF's
//! `PrimaryKeyRelatedField`), reported with the others, and only the caller has the
//! connection to ask (a query in practice).

use std::cmp::Ordering;

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::Value;

use crate::error::ApiError;
use crate::fields::{does_not_exist, Input};

use super::queries::{Album, AlbumFields, Like, Song, SongFields};
use crate::domains::{New, Writes};

pub const NAME_MAX: usize = 200;
pub const ARTIST_MAX: usize = 100;
pub const SONG_NAME_MAX: usize = 100;

/// The request body of POST and PUT; a PATCH may leave any field out.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(bound = "W: Writes")]
pub struct AlbumIn<W: Writes = New> {
    #[schema(value_type = String)]
    pub name: W::Required<String>,
    #[schema(value_type = String)]
    pub artist: W::Required<String>,
    #[schema(value_type = String, format = Date)]
    pub year_released: W::Required<NaiveDate>,
}

impl<W: Writes> AlbumIn<W> {
    pub fn parse(mut input: Input) -> Result<Self, ApiError> {
        let name = input.text("name", NAME_MAX);
        let artist = input.text("artist", ARTIST_MAX);
        let year_released = input.date("year_released");
        input.finish()?;
        Ok(Self {
            name: W::required(name, "name")?,
            artist: W::required(artist, "artist")?,
            year_released: W::required(year_released, "year_released")?,
        })
    }

    /// The columns it sets: every one for a new album.
    pub fn fields(self) -> AlbumFields {
        AlbumFields {
            name: W::changed(self.name),
            artist: W::changed(self.artist),
            year_released: W::changed(self.year_released),
        }
    }
}

/// The request body of POST and PUT; a PATCH may leave any field out. `album` is
/// an existing album's id.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
#[schema(bound = "W: Writes")]
pub struct SongIn<W: Writes = New> {
    #[schema(value_type = String)]
    pub song_name: W::Required<String>,
    #[schema(value_type = i64)]
    pub album: W::Required<i64>,
    #[schema(value_type = i64)]
    pub num_streams: W::Required<i64>,
}

impl<W: Writes> SongIn<W> {
    /// `album_exists` is asked only about a well-formed album id.
    pub fn parse(
        mut input: Input,
        album_exists: impl FnOnce(i64) -> Result<bool, ApiError>,
    ) -> Result<Self, ApiError> {
        let song_name = input.text("song_name", SONG_NAME_MAX);
        let num_streams = streams(&mut input);
        let album = existing_pk(&mut input, "album", album_exists)?;
        input.finish()?;
        Ok(Self {
            song_name: W::required(song_name, "song_name")?,
            album: W::required(album, "album")?,
            num_streams: W::required(num_streams, "num_streams")?,
        })
    }

    /// The columns it sets: every one for a new song.
    pub fn fields(self) -> SongFields {
        SongFields {
            song_name: W::changed(self.song_name),
            album_id: W::changed(self.album),
            num_streams: W::changed(self.num_streams),
        }
    }
}

/// The request body of POST: the song's id; `user` is the caller, whatever is
/// sent.
// Not generic over `Writes`: a like is created and deleted, never changed.
#[derive(Debug, Clone, PartialEq, Eq, utoipa::ToSchema)]
pub struct LikeIn {
    pub song: i64,
}

impl LikeIn {
    pub fn parse(
        mut input: Input,
        song_exists: impl FnOnce(i64) -> Result<bool, ApiError>,
    ) -> Result<Self, ApiError> {
        let song = existing_pk(&mut input, "song", song_exists)?;
        input.finish()?;
        Ok(Self {
            song: New::required(song, "song")?,
        })
    }
}

/// `?album=` of `songInAlbum`: a required integer.
pub fn album_query(query: Option<&str>) -> Result<i64, ApiError> {
    let album = query
        .and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "album")
                .last()
        })
        .map(|(_, v)| Value::String(v.into_owned()));
    let mut map = serde_json::Map::new();
    if let Some(album) = album {
        map.insert("album".to_owned(), album);
    }
    let mut input = Input::new(Value::Object(map), false)?;
    let album = input.integer("album", None);
    input.finish()?;
    album.ok_or_else(|| anyhow::anyhow!("?album= passed validation without a value").into())
}

/// A model IntegerField >= 0 stored as a 64-bit integer: out-of-range whole numbers
/// get DRF's bound messages rather than "not an integer".
fn streams(input: &mut Input) -> Option<i64> {
    match input.raw("num_streams").and_then(beyond_i64) {
        Some(Ordering::Greater) => {
            input.error(
                "num_streams",
                format!("Ensure this value is less than or equal to {}.", i64::MAX),
            );
            None
        }
        Some(_) => {
            input.error(
                "num_streams",
                "Ensure this value is greater than or equal to 0.",
            );
            None
        }
        None => input.integer("num_streams", Some(0)),
    }
}

/// Whether a whole number lies above or below the 64-bit range.
fn beyond_i64(value: &Value) -> Option<Ordering> {
    let text = match value {
        Value::Number(n) if n.as_i64().is_none() => {
            let f = n.as_f64()?;
            let side = if f > 0.0 {
                Ordering::Greater
            } else {
                Ordering::Less
            };
            return (f.fract() == 0.0).then_some(side);
        }
        Value::String(s) => s.trim(),
        _ => return None,
    };
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || text.parse::<i64>().is_ok()
    {
        return None;
    }
    Some(if text.starts_with('-') {
        Ordering::Less
    } else {
        Ordering::Greater
    })
}

/// A PrimaryKeyRelatedField: the id's type, then that its row exists.
fn existing_pk(
    input: &mut Input,
    name: &str,
    exists: impl FnOnce(i64) -> Result<bool, ApiError>,
) -> Result<Option<i64>, ApiError> {
    let Some(pk) = input.pk(name) else {
        return Ok(None);
    };
    if exists(pk)? {
        Ok(Some(pk))
    } else {
        input.error(name, does_not_exist(pk));
        Ok(None)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlbumOut {
    pub id: i64,
    pub name: String,
    pub artist: String,
    /// `YYYY-MM-DD`
    #[schema(value_type = String, format = Date)]
    pub year_released: NaiveDate,
}

impl From<Album> for AlbumOut {
    fn from(a: Album) -> Self {
        Self {
            id: a.id,
            name: a.name,
            artist: a.artist,
            year_released: a.year_released,
        }
    }
}

/// A song with its album's id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SongOut {
    pub id: i64,
    pub song_name: String,
    pub num_streams: i64,
    pub album: i64,
}

impl From<Song> for SongOut {
    fn from(s: Song) -> Self {
        Self {
            id: s.id,
            song_name: s.song_name,
            num_streams: s.num_streams,
            album: s.album_id,
        }
    }
}

/// A song as `songInAlbum` lists it, without its album.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AlbumSongOut {
    pub id: i64,
    pub song_name: String,
    pub num_streams: i64,
}

impl From<Song> for AlbumSongOut {
    fn from(s: Song) -> Self {
        Self {
            id: s.id,
            song_name: s.song_name,
            num_streams: s.num_streams,
        }
    }
}

/// A like: `user` is the liker's id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LikeOut {
    pub id: i64,
    pub user: i64,
    pub song: i64,
}

impl From<Like> for LikeOut {
    fn from(l: Like) -> Self {
        Self {
            id: l.id,
            user: l.user_id,
            song: l.song_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_album_query_takes_the_last_value() {
        assert_eq!(album_query(Some("album=1&album=2")).unwrap(), 2);
        assert!(album_query(Some("album=1&album=x")).is_err());
        assert!(album_query(None).is_err());
        assert_eq!(album_query(Some("album=3.0")).unwrap(), 3);
    }

    #[test]
    fn streams_beyond_64_bits_get_the_bound_messages() {
        assert_eq!(
            beyond_i64(&json!(100_000_000_000_000_000_000.0)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            beyond_i64(&json!("-99999999999999999999")),
            Some(Ordering::Less)
        );
        assert_eq!(beyond_i64(&json!(5)), None);
        assert_eq!(beyond_i64(&json!("many")), None);
    }

    #[test]
    fn a_missing_album_is_reported_with_the_other_errors() {
        let input = Input::new(
            json!({"song_name": "ok", "album": 9, "num_streams": -1}),
            false,
        );
        let Err(ApiError::Validation(errors)) = SongIn::<New>::parse(input.unwrap(), |_| Ok(false))
        else {
            panic!("expected a validation error")
        };
        assert_eq!(errors.get("album"), Some(&[does_not_exist(9)][..]));
        assert!(errors.get("num_streams").is_some());
    }
}

crate::extract::keyed_by_id!(AlbumOut, SongOut, AlbumSongOut, LikeOut);
