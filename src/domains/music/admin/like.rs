//! Likes in the admin: any user's, each a user and a song chosen by name.

use diesel::prelude::*;
use serde_json::{json, Value};

use super::super::inserts::{AddLike, LikeRow};
use super::super::likes::NOT_UNIQUE;
use super::super::payload::LikeIn;
use super::super::queries::{self, albums, song_likes, songs};
use super::model;
use crate::admin::helpers::{checked, nothing_related, user_choices, user_pk, values};
use crate::admin::model::{col, Ctx, Field, ListQuery, Listing, ModelAdmin, Record, Row};
use crate::auth::users::users;
use crate::db::{Conn, DieselErrorExt as _, Inserts as _};
use crate::error::ApiError;
use crate::fields::{FieldErrors, Input};

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
    passwords: &[],
    related: nothing_related,
    of_user: Some(of_user),
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
    let like = Input::new(body, false)
        .and_then(|input| LikeIn::parse(input, |s| queries::song_exists(conn, s)));
    let song = checked(like, errors)?.song;
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
            let row = LikeRow {
                user_id: user,
                song_id: song,
            };
            AddLike::insert_one(conn, &row)?.id
        }
    };
    load_like(conn, id)?.ok_or(ApiError::NotFound("UserLikesSong"))
}

/// A deleted user's likes, which go with them.
fn of_user(conn: &mut Conn, user: i64) -> Result<crate::admin::model::Related, ApiError> {
    use crate::domains::music::queries::{song_likes, songs};
    let liked: Vec<String> = song_likes::table
        .inner_join(songs::table)
        .filter(song_likes::user_id.eq(user))
        .order(song_likes::id)
        .select(songs::song_name)
        .load(conn)?;
    Ok(crate::admin::model::Related {
        model: "Like",
        items: liked.into_iter().map(|s| format!("likes {s}")).collect(),
    })
}
