//! Adding albums, songs and likes: those added at the same moment go in together
//! ([`Db::insert`]), as messages and tasks do.
//!
//! [`Db::insert`]: crate::db::Db::insert

use diesel::prelude::*;

use super::likes::NOT_UNIQUE;
use super::queries::{albums, song_likes, songs, Album, AlbumFields, Like, Song, SongFields};
use crate::db::{Conn, DieselErrorExt as _, Inserts};
use crate::error::ApiError;
use crate::fields::does_not_exist;

/// An album; every field `Some` (a validated create).
pub struct AddAlbum;

impl Inserts for AddAlbum {
    type Row = AlbumFields;
    type Out = Album;

    fn insert(conn: &mut Conn, rows: &[AlbumFields]) -> Result<Vec<Album>, ApiError> {
        Ok(conn.load(
            diesel::insert_into(albums::table)
                .values(rows)
                .returning(albums::all_columns),
        )?)
    }

    fn became(row: &AlbumFields, out: &Album) -> bool {
        row.name.as_ref() == Some(&out.name)
            && row.artist.as_ref() == Some(&out.artist)
            && row.year_released == Some(out.year_released)
    }

    fn undo(conn: &mut Conn, outs: &[Album]) -> Result<(), ApiError> {
        let ids: Vec<i64> = outs.iter().map(|out| out.id).collect();
        conn.execute(diesel::delete(albums::table.filter(albums::id.eq_any(ids))))?;
        Ok(())
    }
}

/// A song on an album checked to exist; every field `Some`.
pub struct AddSong;

impl Inserts for AddSong {
    type Row = SongFields;
    type Out = Song;

    fn insert(conn: &mut Conn, rows: &[SongFields]) -> Result<Vec<Song>, ApiError> {
        let stored = conn.load(
            diesel::insert_into(songs::table)
                .values(rows)
                .returning(songs::all_columns),
        );
        stored.map_err(|err| match rows {
            // the album checked a moment ago was deleted since: the check's 400
            [row] if err.is_foreign_key_violation() => {
                ApiError::field("album", does_not_exist(row.album_id.unwrap_or_default()))
            }
            _ => err.into(),
        })
    }

    fn became(row: &SongFields, out: &Song) -> bool {
        row.song_name.as_ref() == Some(&out.song_name)
            && row.album_id == Some(out.album_id)
            && row.num_streams == Some(out.num_streams)
    }

    fn undo(conn: &mut Conn, outs: &[Song]) -> Result<(), ApiError> {
        let ids: Vec<i64> = outs.iter().map(|out| out.id).collect();
        conn.execute(diesel::delete(songs::table.filter(songs::id.eq_any(ids))))?;
        Ok(())
    }
}

/// A user's like of a song checked to exist.
#[derive(Debug, Clone, Copy)]
pub struct LikeRow {
    pub user_id: i64,
    pub song_id: i64,
}

pub struct AddLike;

impl Inserts for AddLike {
    type Row = LikeRow;
    type Out = Like;

    /// A like the user already has is a 400 (the unique constraint decides, so
    /// two likes at once make one row).
    fn insert(conn: &mut Conn, rows: &[LikeRow]) -> Result<Vec<Like>, ApiError> {
        let values: Vec<_> = rows
            .iter()
            .map(|row| {
                (
                    song_likes::user_id.eq(row.user_id),
                    song_likes::song_id.eq(row.song_id),
                )
            })
            .collect();
        let stored = conn.load(
            diesel::insert_into(song_likes::table)
                .values(&values)
                .returning(song_likes::all_columns),
        );
        stored.map_err(|err| match rows {
            [_] if err.is_unique_violation() => ApiError::non_field(NOT_UNIQUE),
            [row] if err.is_foreign_key_violation() => {
                ApiError::field("song", does_not_exist(row.song_id))
            }
            _ => err.into(),
        })
    }

    fn became(row: &LikeRow, out: &Like) -> bool {
        row.user_id == out.user_id && row.song_id == out.song_id
    }

    fn undo(conn: &mut Conn, outs: &[Like]) -> Result<(), ApiError> {
        let ids: Vec<i64> = outs.iter().map(|out| out.id).collect();
        conn.execute(diesel::delete(
            song_likes::table.filter(song_likes::id.eq_any(ids)),
        ))?;
        Ok(())
    }
}
