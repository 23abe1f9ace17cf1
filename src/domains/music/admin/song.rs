//! Songs in the admin: the album chosen by name; deleting one lists its likes.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::super::inserts::AddSong;
use super::super::payload::{SongIn, SONG_NAME_MAX};
use super::super::queries::{self, albums, song_likes, songs};
use super::model;
use crate::admin::helpers::values;
use crate::admin::model::{
    col, Ctx, Field, Kind, ListQuery, Listing, ModelAdmin, Record, Related, Row,
};
use crate::auth::users::users;
use crate::db::{Conn, Inserts as _};
use crate::domains::New;
use crate::error::ApiError;
use crate::fields::Input;

pub const SONGS: ModelAdmin = ModelAdmin {
    columns: &[
        col("song_name", "Song name"),
        col("album", "Album"),
        col("num_streams", "Streams"),
    ],
    search: "song name, album",
    form: |conn, _| {
        let albums: Vec<(i64, String)> = albums::table
            .order(albums::name)
            .select((albums::id, albums::name))
            .load(conn)?;
        Ok(vec![
            Field::text("song_name", "Song name", SONG_NAME_MAX),
            Field::select("album", "Album", albums),
            Field::new("num_streams", "Streams", Kind::Number).initial("0"),
        ])
    },
    list: list_songs,
    load: load_song,
    save: save_song,
    passwords: &[],
    related: song_related,
    of_user: None,
    delete: queries::delete_song,
    ..model("song", "song", "songs")
};

fn list_songs(conn: &mut Conn, list: &ListQuery) -> Result<Listing, ApiError> {
    let pattern = list.pattern();
    let filtered = || {
        let mut query = songs::table.inner_join(albums::table).into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(crate::admin_search!(p; songs::song_name, albums::name));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows: Vec<(i64, String, String, i64)> = crate::admin_order!(filtered(), list, songs::id, {
        "song_name" => songs::song_name, "album" => albums::name, "num_streams" => songs::num_streams,
    })
    .select((songs::id, songs::song_name, albums::name, songs::num_streams))
    .limit(list.limit)
    .offset(list.offset)
    .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(id, name, album, streams)| Row {
            id,
            cells: vec![name, album, streams.to_string()],
        })
        .collect();
    Ok(Listing { rows, total })
}

fn load_song(conn: &mut Conn, id: i64) -> Result<Option<Record>, ApiError> {
    Ok(conn.first(queries::song(id))?.map(|s| Record {
        id,
        values: values([
            ("song_name", json!(s.song_name)),
            ("album", json!(s.album_id.to_string())),
            ("num_streams", json!(s.num_streams.to_string())),
        ]),
        title: s.song_name,
    }))
}

fn save_song(conn: &mut Conn, _: &Ctx, id: Option<i64>, body: Value) -> Result<Record, ApiError> {
    let song = Input::new(body, false).and_then(|input| {
        SongIn::<New>::parse(input, |album| queries::album_exists(conn, album))
    })?;
    let id = match id {
        Some(id) => {
            queries::update_song(conn, id, &song.fields())?
                .ok_or(ApiError::NotFound("Song"))?
                .id
        }
        None => AddSong::insert_one(conn, &song.fields())?.id,
    };
    load_song(conn, id)?.ok_or(ApiError::NotFound("Song"))
}

fn song_related(conn: &mut Conn, _: &[&ModelAdmin], id: i64) -> Result<Vec<Related>, ApiError> {
    let likes: Vec<(String, String)> = song_likes::table
        .inner_join(users::table)
        .inner_join(songs::table)
        .filter(song_likes::song_id.eq(id))
        .order(song_likes::id)
        .select((users::username, songs::song_name))
        .load(conn)?;
    let items: Vec<String> = likes
        .into_iter()
        .map(|(u, s)| format!("{u} likes {s}"))
        .collect();
    Ok(if items.is_empty() {
        Vec::new()
    } else {
        vec![Related {
            model: "Like",
            items,
        }]
    })
}
