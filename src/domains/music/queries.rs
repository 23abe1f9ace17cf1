//! The music tables (`albums`, `songs`, `song_likes`) and their queries.

use chrono::NaiveDate;
use diesel::prelude::*;

use diesel::dsl;
use diesel::query_source::Alias;

use crate::db::{
    carried_total, native, with_total, Conn, DieselErrorExt as _, OptionalExt as _, SharedConn,
};
use crate::error::ApiError;

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
diesel::allow_tables_to_appear_in_same_query!(albums, songs, song_likes);

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

pub fn albums(conn: &mut Conn, limit: i64, offset: i64) -> Result<(Vec<Album>, i64), ApiError> {
    let all = diesel::alias!(albums as all_albums);
    let rows = native!(conn, |c| albums::table
        .order(albums::id)
        .limit(limit)
        .offset(offset)
        .select((albums::all_columns, all.count().single_value()))
        .load(c))?;
    with_total(rows, offset, || {
        Ok(native!(conn, |c| albums::table.count().get_result(c))?)
    })
}

pub fn album(conn: &mut Conn, id: i64) -> Result<Option<Album>, ApiError> {
    native!(conn, |c| albums::table
        .find(id)
        .select(albums::all_columns)
        .first(c)
        .found())
}

pub fn album_exists(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(albums::table.find(id))).get_result(conn)?)
}

/// Inserts an album; every field must be `Some` (a validated create).
pub fn create_album(conn: &mut Conn, fields: &AlbumFields) -> Result<Album, ApiError> {
    Ok(diesel::insert_into(albums::table)
        .values(fields)
        .returning(albums::all_columns)
        .get_result(conn)?)
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
    album(conn, id)
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

diesel::alias!(songs as all_songs: AllSongs);

type SongColumns = (
    songs::id,
    songs::song_name,
    songs::album_id,
    songs::num_streams,
);

/// A page of songs, each row with the number of all songs. Named, so that the
/// pooled and the shared connections run this one query.
type SongPage = dsl::Select<
    dsl::Offset<dsl::Limit<dsl::Order<songs::table, songs::id>>>,
    (SongColumns, dsl::SingleValue<dsl::Count<Alias<AllSongs>>>),
>;

fn song_page(limit: i64, offset: i64) -> SongPage {
    songs::table
        .order(songs::id)
        .limit(limit)
        .offset(offset)
        .select((songs::all_columns, all_songs.count().single_value()))
}

pub fn songs(conn: &mut Conn, limit: i64, offset: i64) -> Result<(Vec<Song>, i64), ApiError> {
    let rows = native!(conn, |c| song_page(limit, offset).load(c))?;
    with_total(rows, offset, || {
        Ok(native!(conn, |c| songs::table.count().get_result(c))?)
    })
}

/// [`songs`] on a shared PostgreSQL connection.
pub async fn songs_shared(
    pg: SharedConn,
    limit: i64,
    offset: i64,
) -> QueryResult<Option<(Vec<Song>, i64)>> {
    let rows = diesel_async::RunQueryDsl::load(song_page(limit, offset), &mut &*pg).await?;
    let total = match carried_total(&rows, offset) {
        Some(total) => total,
        None => diesel_async::RunQueryDsl::get_result(songs::table.count(), &mut &*pg).await?,
    };
    Ok(Some((
        rows.into_iter().map(|(song, _)| song).collect(),
        total,
    )))
}

pub fn songs_in_album(
    conn: &mut Conn,
    album: i64,
    limit: i64,
    offset: i64,
) -> Result<(Vec<Song>, i64), ApiError> {
    let in_album = songs::table.filter(songs::album_id.eq(album));
    let rows = in_album
        .order(songs::id)
        .limit(limit)
        .offset(offset)
        .select(songs::all_columns)
        .load(conn)?;
    let total = in_album.count().get_result(conn)?;
    Ok((rows, total))
}

fn song_by_id(id: i64) -> dsl::Select<dsl::Find<songs::table, i64>, SongColumns> {
    songs::table.find(id).select(songs::all_columns)
}

pub fn song(conn: &mut Conn, id: i64) -> Result<Option<Song>, ApiError> {
    native!(conn, |c| song_by_id(id).first(c).found())
}

/// [`song`] on a shared PostgreSQL connection.
pub async fn song_shared(pg: SharedConn, id: i64) -> QueryResult<Option<Option<Song>>> {
    let song = diesel_async::RunQueryDsl::first(song_by_id(id), &mut &*pg).await;
    song.optional().map(Some)
}

pub fn song_exists(conn: &mut Conn, id: i64) -> Result<bool, ApiError> {
    Ok(diesel::select(diesel::dsl::exists(songs::table.find(id))).get_result(conn)?)
}

/// Inserts a song; every field must be `Some` (a validated create).
pub fn create_song(conn: &mut Conn, fields: &SongFields) -> Result<Song, ApiError> {
    Ok(diesel::insert_into(songs::table)
        .values(fields)
        .returning(songs::all_columns)
        .get_result(conn)?)
}

pub fn update_song(
    conn: &mut Conn,
    id: i64,
    fields: &SongFields,
) -> Result<Option<Song>, ApiError> {
    if fields.song_name.is_some() || fields.album_id.is_some() || fields.num_streams.is_some() {
        diesel::update(songs::table.find(id))
            .set(fields)
            .execute(conn)?;
    }
    song(conn, id)
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
) -> Result<(Vec<Like>, i64), ApiError> {
    let mine = song_likes::table.filter(song_likes::user_id.eq(user));
    let rows = mine
        .order(song_likes::id)
        .limit(limit)
        .offset(offset)
        .select(song_likes::all_columns)
        .load(conn)?;
    let total = mine.count().get_result(conn)?;
    Ok((rows, total))
}

/// Inserts the like; `Ok(None)` when the user already likes the song (the unique
/// constraint decides, so two simultaneous likes make one row).
pub fn create_like(conn: &mut Conn, user: i64, song: i64) -> Result<Option<Like>, ApiError> {
    let inserted = diesel::insert_into(song_likes::table)
        .values((song_likes::user_id.eq(user), song_likes::song_id.eq(song)))
        .returning(song_likes::all_columns)
        .get_result::<Like>(conn);
    match inserted {
        Ok(like) => Ok(Some(like)),
        Err(e) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Deletes the user's own like; false when the user has no like with that id.
pub fn delete_like(conn: &mut Conn, user: i64, id: i64) -> Result<bool, ApiError> {
    let mine = song_likes::table
        .filter(song_likes::id.eq(id))
        .filter(song_likes::user_id.eq(user));
    Ok(diesel::delete(mine).execute(conn)? > 0)
}
