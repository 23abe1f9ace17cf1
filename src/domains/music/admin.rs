//! Albums, songs and likes in the admin. Each form is checked by the API's own
//! `album_fields`, `song_fields` and `like_song`; deleting an album first lists its
//! songs and their likes.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::likes::NOT_UNIQUE;
use super::payload::{self, ARTIST_MAX, NAME_MAX, SONG_NAME_MAX};
use super::queries::{self, albums, song_likes, songs};
use crate::admin::model::{
    checked, col, nothing_related, user_choices, user_pk, values, Ctx, Field, Kind, ListQuery,
    Listing, ModelAdmin, Record, Related, Row,
};
use crate::auth::users::users;
use crate::db::{Conn, DieselErrorExt as _};
use crate::error::ApiError;
use crate::fields::FieldErrors;

// A like's user, for the admin's lists (the API shows only the user's id).
diesel::joinable!(song_likes -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(song_likes, users);
diesel::allow_tables_to_appear_in_same_query!(songs, users);
diesel::allow_tables_to_appear_in_same_query!(albums, users);

const fn model(model: &'static str, singular: &'static str, plural: &'static str) -> ModelAdmin {
    ModelAdmin {
        app: "music",
        app_label: "Music",
        model,
        singular,
        plural,
        superuser_only: false,
        editable: true,
        columns: &[],
        search: "",
        form: |_, _| Ok(Vec::new()),
        list: |_, _| Ok(Listing::default()),
        load: |_, _| Ok(None),
        save: |_, _, _, _| Err(ApiError::RouteNotFound),
        related: nothing_related,
        delete: |_, _| Ok(false),
    }
}

pub const ALBUMS: ModelAdmin = ModelAdmin {
    columns: &[
        col("name", "Name"),
        col("artist", "Artist"),
        col("year_released", "Released"),
    ],
    search: "name, artist",
    form: |_, _| {
        Ok(vec![
            Field::text("name", "Name", NAME_MAX),
            Field::text("artist", "Artist", ARTIST_MAX),
            Field::new("year_released", "Year released", Kind::Date),
        ])
    },
    list: list_albums,
    load: load_album,
    save: save_album,
    related: album_related,
    delete: queries::delete_album,
    ..model("album", "album", "albums")
};

fn list_albums(conn: &mut Conn, list: &ListQuery) -> Result<Listing, ApiError> {
    let pattern = list.pattern();
    let filtered = || {
        let mut query = albums::table.into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(crate::admin_search!(p; albums::name, albums::artist));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows: Vec<queries::Album> = crate::admin_order!(filtered(), list, albums::id, {
        "name" => albums::name, "artist" => albums::artist, "year_released" => albums::year_released,
    })
    .select(queries::Album::as_select())
    .limit(list.limit)
    .offset(list.offset)
    .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|a| Row {
            id: a.id,
            cells: vec![a.name, a.artist, a.year_released.to_string()],
        })
        .collect();
    Ok(Listing { rows, total })
}

fn load_album(conn: &mut Conn, id: i64) -> Result<Option<Record>, ApiError> {
    Ok(queries::album(conn, id)?.map(|a| Record {
        id,
        values: values([
            ("name", json!(a.name)),
            ("artist", json!(a.artist)),
            ("year_released", json!(a.year_released.to_string())),
        ]),
        title: a.name,
    }))
}

fn save_album(conn: &mut Conn, _: &Ctx, id: Option<i64>, body: Value) -> Result<Record, ApiError> {
    let fields = payload::album_fields(body, false)?;
    let id = match id {
        Some(id) => {
            queries::update_album(conn, id, &fields)?
                .ok_or(ApiError::NotFound("Album"))?
                .id
        }
        None => queries::create_album(conn, &fields)?.id,
    };
    load_album(conn, id)?.ok_or(ApiError::NotFound("Album"))
}

fn album_related(conn: &mut Conn, id: i64) -> Result<Vec<Related>, ApiError> {
    let names: Vec<String> = songs::table
        .filter(songs::album_id.eq(id))
        .order(songs::id)
        .select(songs::song_name)
        .load(conn)?;
    let likes: Vec<(String, String)> = song_likes::table
        .inner_join(users::table)
        .inner_join(songs::table)
        .filter(songs::album_id.eq(id))
        .order(song_likes::id)
        .select((users::username, songs::song_name))
        .load(conn)?;
    Ok(vec![
        Related {
            model: "Song",
            items: names,
        },
        Related {
            model: "Like",
            items: likes
                .into_iter()
                .map(|(u, s)| format!("{u} likes {s}"))
                .collect(),
        },
    ]
    .into_iter()
    .filter(|r| !r.items.is_empty())
    .collect())
}

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
    related: song_related,
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
    Ok(queries::song(conn, id)?.map(|s| Record {
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
    let fields = payload::song_fields(body, false, |album| queries::album_exists(conn, album))?;
    let id = match id {
        Some(id) => {
            queries::update_song(conn, id, &fields)?
                .ok_or(ApiError::NotFound("Song"))?
                .id
        }
        None => queries::create_song(conn, &fields)?.id,
    };
    load_song(conn, id)?.ok_or(ApiError::NotFound("Song"))
}

fn song_related(conn: &mut Conn, id: i64) -> Result<Vec<Related>, ApiError> {
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

pub const LIKES: ModelAdmin = ModelAdmin {
    columns: &[col("user", "User"), col("song", "Song")],
    search: "user, song name",
    form: |conn, _| {
        let songs: Vec<(i64, String, String)> = songs::table
            .inner_join(albums::table)
            .order((songs::song_name, albums::name))
            .select((songs::id, songs::song_name, albums::name))
            .load(conn)?;
        let songs = songs
            .into_iter()
            .map(|(id, s, a)| (id, format!("{s} ({a})")))
            .collect();
        Ok(vec![
            Field::select("user", "User", user_choices(conn)?),
            Field::select("song", "Song", songs),
        ])
    },
    list: list_likes,
    load: load_like,
    save: save_like,
    related: nothing_related,
    delete: |conn, id| Ok(diesel::delete(song_likes::table.find(id)).execute(conn)? > 0),
    ..model("like", "like", "likes")
};

fn list_likes(conn: &mut Conn, list: &ListQuery) -> Result<Listing, ApiError> {
    let pattern = list.pattern();
    let filtered = || {
        let mut query = song_likes::table
            .inner_join(users::table)
            .inner_join(songs::table)
            .into_boxed();
        if let Some(p) = &pattern {
            query = query.filter(crate::admin_search!(p; users::username, songs::song_name));
        }
        query
    };
    let total = filtered().count().get_result(conn)?;
    let rows: Vec<(i64, String, String)> = crate::admin_order!(filtered(), list, song_likes::id, {
        "user" => users::username, "song" => songs::song_name,
    })
    .select((song_likes::id, users::username, songs::song_name))
    .limit(list.limit)
    .offset(list.offset)
    .load(conn)?;
    let rows = rows
        .into_iter()
        .map(|(id, user, song)| Row {
            id,
            cells: vec![user, song],
        })
        .collect();
    Ok(Listing { rows, total })
}

fn load_like(conn: &mut Conn, id: i64) -> Result<Option<Record>, ApiError> {
    let found: Option<(i64, i64, String, String)> = song_likes::table
        .inner_join(users::table)
        .inner_join(songs::table)
        .filter(song_likes::id.eq(id))
        .select((
            song_likes::user_id,
            song_likes::song_id,
            users::username,
            songs::song_name,
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(|(user, song, username, song_name)| Record {
        id,
        title: format!("{username} likes {song_name}"),
        values: values([
            ("user", json!(user.to_string())),
            ("song", json!(song.to_string())),
        ]),
    }))
}

fn save_like(conn: &mut Conn, _: &Ctx, id: Option<i64>, body: Value) -> Result<Record, ApiError> {
    let mut errors = FieldErrors::default();
    let user = user_pk(conn, &body, "user", &mut errors)?;
    let song = checked(
        payload::like_song(body, |s| queries::song_exists(conn, s)),
        errors,
    )?;
    let user = user.ok_or_else(|| anyhow::anyhow!("a valid like form without its user"))?;
    let id = match id {
        Some(id) => {
            let changed = diesel::update(song_likes::table.find(id))
                .set((song_likes::user_id.eq(user), song_likes::song_id.eq(song)))
                .execute(conn);
            match changed {
                Err(e) if e.is_unique_violation() => return Err(ApiError::non_field(NOT_UNIQUE)),
                other => other.map(|_| id)?,
            }
        }
        None => {
            queries::create_like(conn, user, song)?
                .ok_or_else(|| ApiError::non_field(NOT_UNIQUE))?
                .id
        }
    };
    load_like(conn, id)?.ok_or(ApiError::NotFound("UserLikesSong"))
}
