//! `?cursor=` keyset paging on every list: `next` links that visit each row once
//! while the table changes, totals as always, and a 400 for any cursor Hearth did
//! not make for that list.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test loudly"
)]

use std::collections::BTreeSet;

use crate::helpers::*;

/// The `next` link's path and query, if any.
fn next_link(r: &Response) -> Option<String> {
    let link = r.headers().get("link")?.to_str().unwrap().to_owned();
    let next = link.split(", ").find(|l| l.ends_with("rel=\"next\""))?;
    let url = next.trim_start_matches('<').split('>').next().unwrap();
    let start = url.find("://").map_or(0, |i| i + 3);
    Some(url[start..][url[start..].find('/').unwrap()..].to_owned())
}

async fn ids_of(r: Response) -> Vec<i64> {
    expect(r, 200)
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_i64().unwrap())
        .collect()
}

both_backends! {
    async fn following_cursors_visits_every_row_once_while_rows_come_and_go(app) {
        let alice = app.user("alice").await;
        let mut first = Vec::new();
        for n in 0..230 {
            let m = expect(alice.post("/api/messages").json(&json!({"text": format!("m{n}")})).send().await.unwrap(), 201).await;
            first.push(m["id"].as_i64().unwrap());
        }
        let mut deleted = BTreeSet::new();
        let mut seen = Vec::new();
        let mut path = "/api/messages?limit=40&cursor=".to_owned();
        let mut pages = 0;
        loop {
            let r = alice.get(&path).send().await.unwrap();
            let total: i64 = r.headers()["x-total-count"].to_str().unwrap().parse().unwrap();
            assert_eq!(total, app.count("messages").await, "the total on page {pages}");
            let next = next_link(&r);
            let link = r.headers().get("link").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
            assert!(!link.contains("offset="), "a cursor page links by cursor: {link}");
            let ids = ids_of(r).await;
            assert!(ids.len() <= 40);
            seen.extend(ids.iter().copied());
            pages += 1;
            // meanwhile: a new message, one deleted ahead and one behind
            expect(alice.post("/api/messages").json(&json!({"text": "new"})).send().await.unwrap(), 201).await;
            for id in [first.iter().rev().find(|id| !deleted.contains(*id) && !seen.contains(id)), first.first()].into_iter().flatten() {
                if deleted.insert(*id) {
                    assert_eq!(alice.delete(&format!("/api/messages/{id}")).send().await.unwrap().status(), 204);
                }
            }
            match next {
                Some(next) => path = next,
                None => break,
            }
            assert!(pages < 50, "the cursors never end");
        }
        let unique: BTreeSet<i64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "a row was shown twice");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "rows out of order");
        for id in &first {
            assert!(deleted.contains(id) || unique.contains(id), "message {id} was never shown");
        }
    }

    async fn every_list_pages_by_cursor(app) {
        let admin = app.staff("admin").await;
        let album = expect(admin.post("/music/album/create").json(&json!({"name": "a", "artist": "b", "year_released": "2001-01-01"})).send().await.unwrap(), 201).await;
        for n in 0..2 {
            expect(admin.post("/music/album/create").json(&json!({"name": format!("x{n}"), "artist": "b", "year_released": "2001-01-01"})).send().await.unwrap(), 201).await;
        }
        for n in 0..3 {
            let song = expect(admin.post("/music/song/create").json(&json!({"song_name": format!("s{n}"), "album": album["id"], "num_streams": 1})).send().await.unwrap(), 201).await;
            expect(admin.post("/music/likes").json(&json!({"song": song["id"]})).send().await.unwrap(), 201).await;
            expect(admin.post("/api/messages").json(&json!({"text": "m"})).send().await.unwrap(), 201).await;
            expect(admin.post("/api/tasks/").json(&json!({"title": "t"})).send().await.unwrap(), 201).await;
            expect(admin.post("/api/blogposts/").json(&json!({"title": "p", "content": "c"})).send().await.unwrap(), 201).await;
        }
        let lists = [
            "/api/messages?".to_owned(),
            "/api/tasks/?".to_owned(),
            "/api/blogposts/?".to_owned(),
            "/music/album?".to_owned(),
            "/music/song?".to_owned(),
            format!("/music/songInAlbum?album={}&", album["id"]),
            "/music/likes?".to_owned(),
        ];
        for list in lists {
            let r = admin.get(&format!("{list}limit=2&cursor=")).send().await.unwrap();
            assert_eq!(r.headers()["x-total-count"], "3", "{list}");
            let next = next_link(&r).unwrap_or_else(|| panic!("{list} has no next cursor"));
            assert!(next.contains("cursor="), "{next}");
            let first = ids_of(r).await;
            assert_eq!(first.len(), 2, "{list}");
            let r = admin.get(&next).send().await.unwrap();
            assert_eq!(r.headers()["x-total-count"], "3", "{list}");
            assert_eq!(next_link(&r), None, "{list}: the last page links nowhere");
            let rest = ids_of(r).await;
            assert_eq!(rest.len(), 1, "{list}");
            assert!(rest[0] > first[1], "{list}");
            // offsets keep their links
            let r = admin.get(&format!("{list}limit=2")).send().await.unwrap();
            assert!(next_link(&r).unwrap().contains("offset=2"), "{list}");
        }
    }

    async fn a_cursor_hearth_did_not_make_for_that_list_is_400(app) {
        let alice = app.user("alice").await;
        for n in 0..3 {
            expect(alice.post("/api/messages").json(&json!({"text": format!("m{n}")})).send().await.unwrap(), 201).await;
            expect(alice.post("/api/tasks/").json(&json!({"title": "t"})).send().await.unwrap(), 201).await;
        }
        let r = alice.get("/api/messages?limit=1&cursor=").send().await.unwrap();
        let next = next_link(&r).unwrap();
        let cursor = next.split("cursor=").nth(1).unwrap().to_owned();
        let mut tampered = cursor.clone().into_bytes();
        tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        for bad in ["x", "%00", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "-1", &tampered, &"z".repeat(5000)] {
            let r = alice.get(&format!("/api/messages?cursor={bad}")).send().await.unwrap();
            assert_eq!(expect(r, 400).await, json!({"detail": "Invalid cursor"}), "{bad}");
        }
        // a messages cursor is no tasks cursor
        let r = alice.get(&format!("/api/tasks/?cursor={cursor}")).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"detail": "Invalid cursor"}));
        let r = alice.get(&next).send().await.unwrap();
        assert_eq!(ids_of(r).await.len(), 1);
    }
}
