//! Albums, songs and likes in the admin. Each form is checked by the API's own
//! `AlbumIn`, `SongIn` and `LikeIn`; deleting an album first lists its songs and
//! their likes.

mod like;
mod song;

pub use like::LIKES;
pub use song::SONGS;

use diesel::prelude::*;
use serde_json::{json, Value};

use super::inserts::AddAlbum;
use super::payload::{AlbumIn, ARTIST_MAX, NAME_MAX};
use super::queries::{self, albums, song_likes, songs};
use crate::admin::helpers::{nothing_related, values};
use crate::admin::model::{
    col, Ctx, Field, Kind, ListQuery, Listing, ModelAdmin, Record, Related, Row,
};
use crate::auth::users::users;
use crate::db::Conn;
use crate::db::Inserts as _;
use crate::domains::New;
use crate::error::ApiError;
use crate::fields::Input;

// A like's user, for the admin's lists (the API shows only the user's id).
diesel::joinable!(song_likes -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(song_likes, users);
diesel::allow_tables_to_appear_in_same_query!(songs, users);
diesel::allow_tables_to_appear_in_same_query!(albums, users);

pub(super) const fn model(
    model: &'static str,
    singular: &'static str,
    plural: &'static str,
) -> ModelAdmin {
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
        passwords: &[],
        related: nothing_related,
        of_user: None,
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
    passwords: &[],
    related: album_related,
    of_user: None,
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
    .select(queries::albums::all_columns)
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
    Ok(conn.first(queries::album(id))?.map(|a| Record {
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
    let album = Input::new(body, false).and_then(AlbumIn::<New>::parse)?;
    let id = match id {
        Some(id) => {
            queries::update_album(conn, id, &album.fields())?
                .ok_or(ApiError::NotFound("Album"))?
                .id
        }
        None => AddAlbum::insert_one(conn, &album.fields())?.id,
    };
    load_album(conn, id)?.ok_or(ApiError::NotFound("Album"))
}

fn album_related(conn: &mut Conn, _: &[&ModelAdmin], id: i64) -> Result<Vec<Related>, ApiError> {
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
