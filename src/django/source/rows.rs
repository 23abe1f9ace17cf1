//! The rows Hearth takes from a Django project, as its tables and fixtures hold them.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::sql_types::{BigInt, Bool, Date, Nullable, Text, Timestamp};
use diesel::QueryableByName;

#[derive(Debug, Clone, QueryableByName)]
pub struct UserRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub password: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_login: Option<NaiveDateTime>,
    #[diesel(sql_type = Bool)]
    pub is_superuser: bool,
    #[diesel(sql_type = Text)]
    pub username: String,
    #[diesel(sql_type = Text)]
    pub first_name: String,
    #[diesel(sql_type = Text)]
    pub last_name: String,
    #[diesel(sql_type = Text)]
    pub email: String,
    #[diesel(sql_type = Bool)]
    pub is_staff: bool,
    #[diesel(sql_type = Bool)]
    pub is_active: bool,
    #[diesel(sql_type = Timestamp)]
    pub date_joined: NaiveDateTime,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct TokenRow {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Timestamp)]
    pub created: NaiveDateTime,
}

/// A refresh token simplejwt recorded, and when it was blacklisted.
#[derive(Debug, Clone, QueryableByName)]
pub struct OutstandingRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub user_id: Option<i64>,
    #[diesel(sql_type = Text)]
    pub jti: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub created_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Timestamp)]
    pub expires_at: NaiveDateTime,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub blacklisted_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct SessionRow {
    #[diesel(sql_type = Text)]
    pub session_key: String,
    #[diesel(sql_type = Text)]
    pub session_data: String,
    #[diesel(sql_type = Timestamp)]
    pub expire_date: NaiveDateTime,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct MessageRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub sender_id: i64,
    #[diesel(sql_type = Text)]
    pub text: String,
    #[diesel(sql_type = Timestamp)]
    pub timestamp: NaiveDateTime,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct TaskRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Bool)]
    pub completed: bool,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct PostRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub content: String,
    #[diesel(sql_type = BigInt)]
    pub author_id: i64,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(sql_type = Timestamp)]
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct AlbumRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub artist: String,
    #[diesel(sql_type = Date)]
    pub year_released: NaiveDate,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct SongRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub song_name: String,
    #[diesel(sql_type = BigInt)]
    pub album_id: i64,
    #[diesel(sql_type = BigInt)]
    pub num_streams: i64,
}

#[derive(Debug, Clone, QueryableByName)]
pub struct LikeRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub user_id: i64,
    #[diesel(sql_type = BigInt)]
    pub song_id: i64,
}

/// Everything Hearth takes from a Django project, from its database or a fixture.
#[derive(Debug, Default)]
pub struct Data {
    pub users: Vec<UserRow>,
    pub tokens: Vec<TokenRow>,
    pub outstanding: Vec<OutstandingRow>,
    pub sessions: Vec<SessionRow>,
    pub messages: Vec<MessageRow>,
    pub tasks: Vec<TaskRow>,
    pub posts: Vec<PostRow>,
    pub albums: Vec<AlbumRow>,
    pub songs: Vec<SongRow>,
    pub likes: Vec<LikeRow>,
    /// Apps the project does not have (never migrated): nothing read for them.
    pub absent_apps: Vec<&'static str>,
    /// Fixture objects of models Hearth does not keep, by model label.
    pub ignored: std::collections::BTreeMap<String, usize>,
}

impl Data {
    pub fn rows(&self) -> usize {
        self.users.len()
            + self.tokens.len()
            + self.outstanding.len()
            + self.sessions.len()
            + self.messages.len()
            + self.tasks.len()
            + self.posts.len()
            + self.albums.len()
            + self.songs.len()
            + self.likes.len()
    }
}
