//! The music tables (`albums`, `songs`, `song_likes`) and their queries.

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::counts::{self, row_counts, total};
use crate::db::{Conn, DieselErrorExt as _, Shown, Statement};
use crate::error::ApiError;
use crate::extract::Window;

diesel::table! {
    albums (id) {
        id -> BigInt,
        name -> Text,
        artist -> Text,
        year_released -> Date,
    }
}

diesel::table! {
    songs (id) {
        id -> BigInt,
        song_name -> Text,
        album_id -> BigInt,
        num_streams -> BigInt,
    }
}

diesel::table! {
    song_likes (id) {
        id -> BigInt,
        user_id -> BigInt,
        song_id -> BigInt,
    }
}

diesel::joinable!(songs -> albums (album_id));
diesel::joinable!(song_likes -> songs (song_id));
diesel::allow_tables_to_appear_in_same_query!(albums, songs, song_likes, row_counts);

/// Their counts in `row_counts`: songs also per album, likes per user.
const ALBUMS: &str = "albums";
const SONGS: &str = "songs";
const SONGS_IN_ALBUM: &str = "songs_in_album";
const LIKES: &str = "song_likes";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = albums)]
pub struct Album {
    pub id: i64,
    pub name: String,
    pub artist: String,
    pub year_released: NaiveDate,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = albums)]
pub struct AlbumFields {
    pub name: Option<String>,
    pub artist: Option<String>,
    pub year_released: Option<NaiveDate>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = songs)]
pub struct Song {
    pub id: i64,
    pub song_name: String,
    pub album_id: i64,
    pub num_streams: i64,
}

// public lists: their pages open without a caller to confirm
impl Shown for Album {}
impl Shown for Song {}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = songs)]
pub struct SongFields {
    pub song_name: Option<String>,
    pub album_id: Option<i64>,
    pub num_streams: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = song_likes)]
pub struct Like {
    pub id: i64,
    pub user_id: i64,
    pub song_id: i64,
}

// --- albums

/// One page of albums by id (`limit`, `offset`, the cursor's key), each row with
/// the number of all albums.
pub fn albums(
    Window {
        limit,
        offset,
        after,
    }: Window,
) -> impl Statement<(Album, Option<i64>)> {
    albums::table
        .filter(albums::id.gt(after))
        .order(albums::id)
        .limit(limit)
        .offset(offset)
        .select((albums::all_columns, total!(ALBUMS, 0)))
}

pub fn albums_count() -> impl Statement<Option<i64>> {
    counts::total_of(ALBUMS, 0)
}

/// One album by id: `db.first(album(id))` for a request, `conn.first(album(id))`
/// inside a closure.
pub fn album(id: i64) -> impl Statement<Album> {
    albums::table.find(id).select(albums::all_columns)
}

pub fn album_exists(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(albums::table.find(id))).get_result(conn)?)
}

pub fn update_album(
    conn: &mut Conn,
    id: i64,
    fields: &AlbumFields,
) -> Result<Option<Album>, ApiError> {
    if fields.name.is_some() || fields.artist.is_some() || fields.year_released.is_some() {
        diesel::update(albums::table.find(id))
            .set(fields)
            .execute(conn)?;
    }
    Ok(conn.first(album(id))?)
}

/// Deletes the album, its songs and their likes in one transaction; false when
/// there was no such album.
pub fn delete_album(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    conn.transaction(|conn| {
        let album_songs = songs::table
            .filter(songs::album_id.eq(id))
            .select(songs::id);
        diesel::delete(song_likes::table.filter(song_likes::song_id.eq_any(album_songs)))
            .execute(conn)?;
        diesel::delete(songs::table.filter(songs::album_id.eq(id))).execute(conn)?;
        Ok(diesel::delete(albums::table.find(id)).execute(conn)? > 0)
    })
}

// --- songs

/// One page of songs by id (`limit`, `offset`, the cursor's key), each row with
/// the number of all songs.
pub fn songs(
    Window {
        limit,
        offset,
        after,
    }: Window,
) -> impl Statement<(Song, Option<i64>)> {
    songs::table
        .filter(songs::id.gt(after))
        .order(songs::id)
        .limit(limit)
        .offset(offset)
        .select((songs::all_columns, total!(SONGS, 0)))
}

pub fn songs_count() -> impl Statement<Option<i64>> {
    counts::total_of(SONGS, 0)
}

/// One page of an album's songs by id, each row with the number of the album's
/// songs.
pub fn songs_in_album(
    album: i64,
    Window {
        limit,
        offset,
        after,
    }: Window,
) -> impl Statement<(Song, Option<i64>)> {
    songs::table
        .filter(songs::album_id.eq(album))
        .filter(songs::id.gt(after))
        .order(songs::id)
        .limit(limit)
        .offset(offset)
        .select((songs::all_columns, total!(SONGS_IN_ALBUM, album)))
}

pub fn songs_in_album_count(album: i64) -> impl Statement<Option<i64>> {
    counts::total_of(SONGS_IN_ALBUM, album)
}

/// One song by id: `db.first(song(id))` for a request, `conn.first(song(id))`
/// inside a closure.
pub fn song(id: i64) -> impl Statement<Song> {
    songs::table.find(id).select(songs::all_columns)
}

pub fn song_exists(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(songs::table.find(id))).get_result(conn)?)
}

/// The album checked a moment ago was deleted since (PostgreSQL, where the check
/// and the write are two statements): the 400 the check gives.
fn album_gone(err: diesel::result::Error, fields: &SongFields) -> ApiError {
    match fields.album_id {
        Some(album) if err.is_foreign_key_violation() => {
            ApiError::field("album", crate::fields::does_not_exist(album))
        }
        _ => err.into(),
    }
}

pub fn update_song(
    conn: &mut Conn,
    id: i64,
    fields: &SongFields,
) -> Result<Option<Song>, ApiError> {
    if fields.song_name.is_some() || fields.album_id.is_some() || fields.num_streams.is_some() {
        diesel::update(songs::table.find(id))
            .set(fields)
            .execute(conn)
            .map_err(|e| album_gone(e, fields))?;
    }
    Ok(conn.first(song(id))?)
}

/// Deletes the song (its likes go by the foreign key's cascade); false when none.
pub fn delete_song(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    Ok(diesel::delete(songs::table.find(id)).execute(conn)? > 0)
}

// --- likes

pub fn likes_of(
    conn: &mut Conn,
    user: i64,
    limit: i64,
    offset: i64,
    after: i64,
) -> Result<(Vec<Like>, i64), ApiError> {
    let rows = song_likes::table
        .filter(song_likes::user_id.eq(user))
        .filter(song_likes::id.gt(after))
        .order(song_likes::id)
        .limit(limit)
        .offset(offset)
        .select(song_likes::all_columns)
        .load(conn)?;
    Ok((rows, counts::count(conn, LIKES, user)?))
}

/// Deletes the user's own like; false when the user has no like with that id.
pub fn delete_like(conn: &mut Conn, user: i64, id: i64) -> Result<bool, ApiError> {
    let mine = song_likes::table
        .filter(song_likes::id.eq(id))
        .filter(song_likes::user_id.eq(user));
    Ok(diesel::delete(mine).execute(conn)? > 0)
}
