//! Logins: simplejwt's outstanding refresh tokens and Django's signed sessions,
//! each becoming a login of Hearth's.

use diesel::prelude::*;

use super::{Abort, Count, Step, Writer, OUTSTANDING, OWNER, SESSION};
use crate::auth::logins::{self as kinds, logins, refresh_tokens};
use crate::auth::users::users;
use crate::django::signing::{self, Unsigned};
use crate::django::source::Data;

impl Writer<'_, '_> {
    /// Each outstanding refresh token becomes a login of its own holding it, so
    /// that refreshing and logging out work as for a token Hearth issued.
    pub(super) fn outstanding(&mut self, data: &Data) -> Step {
        let mut count = Count::default();
        let now = crate::time::now();
        for t in &data.outstanding {
            self.tick(OUTSTANDING);
            let Some(user_id) = t.user_id else {
                count.skip("its user was deleted in Django");
                continue;
            };
            if !self.owned(user_id, &mut count) {
                continue;
            }
            if t.expires_at <= now {
                count.skip("expired");
                continue;
            }
            let jti_hash = self.options.keys.lookup_hash(&t.jti);
            let known = refresh_tokens::table
                .filter(refresh_tokens::jti_hash.eq(&jti_hash))
                .count()
                .get_result::<i64>(self.conn)?;
            if known > 0 {
                count.skip("already in Hearth");
                continue;
            }
            let created = t.created_at.unwrap_or(now);
            let login_id: i64 = diesel::insert_into(logins::table)
                .values((
                    logins::user_id.eq(user_id),
                    logins::kind.eq(kinds::JWT),
                    logins::created_at.eq(created),
                    logins::last_used_at.eq(created),
                    logins::expires_at.eq(t.expires_at),
                    logins::revoked_at.eq(t.blacklisted_at),
                ))
                .returning(logins::id)
                .get_result(self.conn)?;
            diesel::insert_into(refresh_tokens::table)
                .values((
                    refresh_tokens::login_id.eq(login_id),
                    refresh_tokens::user_id.eq(user_id),
                    refresh_tokens::jti_hash.eq(&jti_hash),
                    refresh_tokens::created_at.eq(created),
                    refresh_tokens::expires_at.eq(t.expires_at),
                    refresh_tokens::blacklisted_at.eq(t.blacklisted_at),
                ))
                .execute(self.conn)?;
            count.imported += 1;
            if t.blacklisted_at.is_some() {
                self.summary.blacklisted += 1;
            }
        }
        self.summary.models.push((OUTSTANDING, count));
        Ok(())
    }

    fn password_of(&mut self, user_id: i64) -> Result<Option<String>, Abort> {
        if let Some(p) = self.passwords.get(&user_id) {
            return Ok(Some(p.clone()));
        }
        Ok(users::table
            .find(user_id)
            .select(users::password)
            .first(self.conn)
            .optional()?)
    }

    pub(super) fn sessions(&mut self, data: &Data) -> Step {
        let mut count = Count::default();
        let now = crate::time::now();
        let secret = self.options.django_secret;
        for s in &data.sessions {
            self.tick(SESSION);
            if s.expire_date <= now {
                count.skip("expired");
                continue;
            }
            self.summary.live_sessions += 1;
            let session = match signing::session_data(&s.session_data, secret) {
                Ok(map) => map,
                Err(Unsigned::BadSignature) => {
                    self.summary.bad_signatures += 1;
                    count.skip("signature does not verify with the SECRET_KEY given");
                    continue;
                }
                Err(Unsigned::Malformed) => {
                    count.skip("not in Django's signed session format");
                    continue;
                }
            };
            let Some(user_id) = session
                .get("_auth_user_id")
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| Some(v.to_string()))
                })
                .and_then(|v| v.parse::<i64>().ok())
            else {
                count.skip("nobody logged in");
                continue;
            };
            if !self.owned(user_id, &mut count) {
                continue;
            }
            let Some(hash) = self.password_of(user_id)? else {
                count.skip(OWNER);
                continue;
            };
            let expected = signing::session_auth_hash(&hash, secret);
            let given = session
                .get("_auth_user_hash")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            if !crate::crypto::constant_time_eq(expected.as_bytes(), given.as_bytes()) {
                count.skip("password changed since the login (Django ends it too)");
                continue;
            }
            let key_hash = self.options.keys.lookup_hash(&s.session_key);
            let known = logins::table
                .filter(logins::session_key_hash.eq(&key_hash))
                .count()
                .get_result::<i64>(self.conn)?;
            if known > 0 {
                count.skip("already in Hearth");
                continue;
            }
            diesel::insert_into(logins::table)
                .values((
                    logins::user_id.eq(user_id),
                    logins::kind.eq(kinds::SESSION),
                    logins::session_key_hash.eq(&key_hash),
                    logins::created_at.eq(now),
                    logins::last_used_at.eq(now),
                    logins::expires_at.eq(s.expire_date),
                ))
                .execute(self.conn)?;
            count.imported += 1;
        }
        self.summary.models.push((SESSION, count));
        Ok(())
    }
}
