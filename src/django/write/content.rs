//! The tutorials' own rows: messages, tasks, blog posts, and the music app's albums,
//! songs and likes.

use std::collections::HashSet;

use diesel::prelude::*;

use super::{insert_batches, Abort, Count, Step, Writer, ALBUM, LIKE, MESSAGE, POST, SONG, TASK};
use crate::django::source::{Data, LikeRow};
use crate::domains::blog::queries::blog_posts;
use crate::domains::messages::queries::messages;
use crate::domains::music::queries::{albums, song_likes, songs};
use crate::domains::tasks::queries::tasks;

/// Copies the rows of one table that `admit` lets through, keeping their ids: an id
/// Hearth has already is left or overwritten as [`Writer::clash`] says, new rows
/// go in batches. A macro, since each table's columns are types of their own.
macro_rules! copy_rows {
    ($w:ident, $model:expr, $rows:expr, $table:ident,
     |$r:ident, $count:ident| $admit:expr, $values:expr $(,)?) => {{
        let mut $count = Count::default();
        let mut new_rows = Vec::new();
        for $r in $rows {
            $w.tick($model);
            let admitted: bool = $admit;
            if !admitted {
                continue;
            }
            let exists = $w.may_clash()
                && $table::table
                    .find($r.id)
                    .count()
                    .get_result::<i64>($w.conn)?
                    > 0;
            let values = $values;
            match $w.clash(exists, &mut $count) {
                Some(true) => continue,
                Some(false) => {
                    diesel::update($table::table.find($r.id))
                        .set(values)
                        .execute($w.conn)?;
                }
                None => new_rows.push(($table::id.eq($r.id), values)),
            }
            $count.imported += 1;
        }
        insert_batches($w.conn, new_rows, |c, rows| {
            c.execute(diesel::insert_into($table::table).values(rows))
        })?;
        $w.summary.models.push(($model, $count));
    }};
}

impl Writer<'_, '_> {
    pub(super) fn messages(&mut self, data: &Data) -> Step {
        copy_rows!(
            self,
            MESSAGE,
            &data.messages,
            messages,
            |m, count| self.owned(m.sender_id, &mut count),
            (
                messages::sender_id.eq(m.sender_id),
                messages::text.eq(&m.text),
                messages::timestamp.eq(m.timestamp),
            ),
        );
        Ok(())
    }

    pub(super) fn tasks(&mut self, data: &Data) -> Step {
        copy_rows!(
            self,
            TASK,
            &data.tasks,
            tasks,
            |t, count| self.owned(t.user_id, &mut count),
            (
                tasks::user_id.eq(t.user_id),
                tasks::title.eq(&t.title),
                tasks::completed.eq(t.completed),
                tasks::created_at.eq(t.created_at),
                tasks::updated_at.eq(t.updated_at),
            ),
        );
        Ok(())
    }

    pub(super) fn posts(&mut self, data: &Data) -> Step {
        copy_rows!(
            self,
            POST,
            &data.posts,
            blog_posts,
            |p, count| self.owned(p.author_id, &mut count),
            (
                blog_posts::title.eq(&p.title),
                blog_posts::content.eq(&p.content),
                blog_posts::author_id.eq(p.author_id),
                blog_posts::created_at.eq(p.created_at),
                blog_posts::updated_at.eq(p.updated_at),
            ),
        );
        Ok(())
    }

    pub(super) fn music(&mut self, data: &Data) -> Step {
        copy_rows!(
            self,
            ALBUM,
            &data.albums,
            albums,
            |a, count| true,
            (
                albums::name.eq(&a.name),
                albums::artist.eq(&a.artist),
                albums::year_released.eq(a.year_released),
            ),
        );

        let album_ids: HashSet<i64> = albums::table
            .select(albums::id)
            .load::<i64>(self.conn)?
            .into_iter()
            .collect();
        copy_rows!(
            self,
            SONG,
            &data.songs,
            songs,
            |s, count| {
                let known = album_ids.contains(&s.album_id);
                if !known {
                    count.skip("its album is not in Hearth");
                }
                known
            },
            (
                songs::song_name.eq(&s.song_name),
                songs::album_id.eq(s.album_id),
                songs::num_streams.eq(s.num_streams),
            ),
        );

        let song_ids: HashSet<i64> = songs::table
            .select(songs::id)
            .load::<i64>(self.conn)?
            .into_iter()
            .collect();
        copy_rows!(
            self,
            LIKE,
            &data.likes,
            song_likes,
            |l, count| self.new_like(l, &song_ids, &mut count)?,
            (
                song_likes::user_id.eq(l.user_id),
                song_likes::song_id.eq(l.song_id),
            ),
        );
        Ok(())
    }

    /// A like of a user and a song both in Hearth, and not a second like of the
    /// same pair under another id.
    fn new_like(
        &mut self,
        l: &LikeRow,
        song_ids: &HashSet<i64>,
        count: &mut Count,
    ) -> Result<bool, Abort> {
        if !self.owned(l.user_id, count) {
            return Ok(false);
        }
        if !song_ids.contains(&l.song_id) {
            count.skip("its song is not in Hearth");
            return Ok(false);
        }
        let same_pair: Option<i64> = song_likes::table
            .filter(song_likes::user_id.eq(l.user_id))
            .filter(song_likes::song_id.eq(l.song_id))
            .select(song_likes::id)
            .first(self.conn)
            .optional()?;
        if same_pair.is_some_and(|id| id != l.id) {
            count.skip("the user already likes that song in Hearth");
            return Ok(false);
        }
        Ok(true)
    }
}
