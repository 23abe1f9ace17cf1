//! Users and their DRF tokens: the rows everything else is attached to.

use std::collections::HashSet;

use diesel::prelude::*;

use super::{Count, Merge, Step, Writer, KEPT, TOKEN, USER};
use crate::auth::tokens::api_tokens;
use crate::auth::users::users;
use crate::django::source::Data;
use crate::password::{self, Scheme};

impl Writer<'_, '_> {
    pub(super) fn users(&mut self, data: &Data) -> Step {
        let mut count = Count::default();
        // Hearth's users before the import: attached rows may name them (merge, loaddata)
        let before: Vec<i64> = users::table.select(users::id).load(self.conn)?;
        let mut blocked = HashSet::new();
        for u in &data.users {
            self.tick(USER);
            self.passwords.insert(u.id, u.password.clone());
            let by_id: Option<String> = users::table
                .find(u.id)
                .select(users::username)
                .first(self.conn)
                .optional()?;
            let by_name: Option<i64> = users::table
                .filter(users::username.eq(&u.username))
                .select(users::id)
                .first(self.conn)
                .optional()?;
            if by_name.is_some_and(|id| id != u.id) {
                count.skip("username taken by another Hearth user");
                blocked.insert(u.id);
                continue;
            }
            let values = (
                users::username.eq(&u.username),
                users::email.eq(&u.email),
                users::first_name.eq(&u.first_name),
                users::last_name.eq(&u.last_name),
                users::password.eq(&u.password),
                users::is_staff.eq(u.is_staff),
                users::is_superuser.eq(u.is_superuser),
                users::is_active.eq(u.is_active),
                users::date_joined.eq(u.date_joined),
                users::last_login.eq(u.last_login),
            );
            match (by_id, self.merge()) {
                // another person: replacing them would hand them Django's user's rows
                (Some(name), _) if name != u.username => {
                    count.skip("id held by another Hearth user");
                    blocked.insert(u.id);
                    continue;
                }
                (Some(_), Merge::Keep) => {
                    count.skip(KEPT);
                    continue;
                }
                (Some(_), Merge::Replace) => {
                    diesel::update(users::table.find(u.id))
                        .set((values, users::auth_version.eq(users::auth_version + 1)))
                        .execute(self.conn)?;
                }
                (None, _) => {
                    diesel::insert_into(users::table)
                        .values((users::id.eq(u.id), values))
                        .execute(self.conn)?;
                }
            }
            count.imported += 1;
            match password::scheme(&u.password) {
                Scheme::Verifiable => {}
                Scheme::Unusable => self.summary.unusable += 1,
                Scheme::Unknown => self.summary.must_reset.push((
                    u.username.clone(),
                    password::algorithm(&u.password).to_owned(),
                )),
            }
        }
        self.users_present = before.into_iter().collect();
        self.users_present.extend(
            data.users
                .iter()
                .map(|u| u.id)
                .filter(|id| !blocked.contains(id)),
        );
        for id in &blocked {
            self.users_present.remove(id);
        }
        self.summary.models.push((USER, count));
        Ok(())
    }

    pub(super) fn tokens(&mut self, data: &Data) -> Step {
        let mut count = Count::default();
        for t in &data.tokens {
            self.tick(TOKEN);
            if !self.owned(t.user_id, &mut count) {
                continue;
            }
            let key_hash = self.options.keys.lookup_hash(&t.key);
            let clash = api_tokens::table
                .filter(
                    api_tokens::user_id
                        .eq(t.user_id)
                        .or(api_tokens::key_hash.eq(&key_hash)),
                )
                .count()
                .get_result::<i64>(self.conn)?;
            if clash > 0 {
                if self.merge() == Merge::Keep {
                    count.skip("the user already has a token in Hearth (kept)");
                    continue;
                }
                diesel::delete(
                    api_tokens::table.filter(
                        api_tokens::user_id
                            .eq(t.user_id)
                            .or(api_tokens::key_hash.eq(&key_hash)),
                    ),
                )
                .execute(self.conn)?;
            }
            diesel::insert_into(api_tokens::table)
                .values((
                    api_tokens::user_id.eq(t.user_id),
                    api_tokens::key_hash.eq(&key_hash),
                    api_tokens::key_sealed.eq(self.options.keys.seal(&t.key)),
                    api_tokens::created_at.eq(t.created),
                ))
                .execute(self.conn)?;
            count.imported += 1;
        }
        self.summary.models.push((TOKEN, count));
        Ok(())
    }
}
