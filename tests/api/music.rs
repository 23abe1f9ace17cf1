//! `/music/…`: albums and songs (public reads, staff writes), `songInAlbum`, likes.

use crate::helpers::*;

const NO_PERMISSION: &str = "You do not have permission to perform this action.";
const REQUIRED: &str = "This field is required.";
const DATE_FORMAT: &str = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD.";
const NOT_UNIQUE: &str = "The fields user, song must make a unique set.";

async fn new_album(staff: &Actor) -> Value {
    let body = json!({"name": "Album", "artist": "Artist", "year_released": "2001-02-03"});
    expect(
        staff
            .post("/music/album")
            .json(&body)
            .send()
            .await
            .expect("album sent"),
        201,
    )
    .await
}

async fn new_song(staff: &Actor, album: &Value, streams: i64) -> Value {
    let body = json!({"song_name": "Song", "album": album["id"], "num_streams": streams});
    expect(
        staff
            .post("/music/song")
            .json(&body)
            .send()
            .await
            .expect("song sent"),
        201,
    )
    .await
}

fn ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|x| x["id"].as_i64().expect("an id"))
        .collect()
}

both_backends! {
    async fn albums_and_songs_added_together_each_answer_their_own_row(app) {
        // on PostgreSQL these go out as multi-row inserts; each answer must be its own row
        let admin = app.staff("admin").await;
        let albums = (0..16).map(|k| {
            let body = json!({"name": format!("Album {k}"), "artist": format!("Artist {k}"), "year_released": "2001-02-03"});
            let request = admin.post("/music/album").json(&body).send();
            async move { (k, expect(request.await.unwrap(), 201).await) }
        });
        let albums = futures::future::join_all(albums).await;
        for (k, album) in &albums {
            assert_eq!((album["name"].clone(), album["artist"].clone()), (json!(format!("Album {k}")), json!(format!("Artist {k}"))));
        }
        let songs = albums.iter().map(|(k, album)| {
            let body = json!({"song_name": format!("Song {k}"), "album": album["id"], "num_streams": k});
            let request = admin.post("/music/song").json(&body).send();
            async move { (*k, album["id"].clone(), expect(request.await.unwrap(), 201).await) }
        });
        let mut ids = std::collections::HashSet::new();
        for (k, album, song) in futures::future::join_all(songs).await {
            assert_eq!((song["song_name"].clone(), song["album"].clone(), song["num_streams"].clone()), (json!(format!("Song {k}")), album, json!(k)), "{song}");
            assert!(ids.insert(song["id"].as_i64().unwrap()));
            let stored = expect(app.anon().get(app.url(&format!("/music/song/{}", song["id"]))).send().await.unwrap(), 200).await;
            assert_eq!(stored, song);
        }
        assert_eq!((app.count("albums").await, app.count("songs").await), (16, 16));
    }

    async fn staff_creates_reads_puts_patches_and_deletes_albums(app) {
        let admin = app.staff("admin").await;
        let body = json!({"name": "Created", "artist": "Via create", "year_released": "1975-10-31", "id": 77});
        let created = expect(admin.post("/music/album/create").json(&body).send().await.unwrap(), 201).await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created, json!({"id": id, "name": "Created", "artist": "Via create", "year_released": "1975-10-31"}));
        let path = format!("/music/album/{id}");
        assert_eq!(expect(app.anon().get(app.url(&path)).send().await.unwrap(), 200).await, created);
        let put = json!({"name": "Renamed", "artist": "Someone", "year_released": "1976-01-01"});
        let r = admin.put(&path).json(&put).send().await.unwrap();
        assert_eq!(expect(r, 200).await, json!({"id": id, "name": "Renamed", "artist": "Someone", "year_released": "1976-01-01"}));
        let r = admin.put(&path).json(&json!({"artist": "Else"})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"name": [REQUIRED], "year_released": [REQUIRED]}));
        let patched = expect(admin.patch(&path).json(&json!({"artist": "Else"})).send().await.unwrap(), 200).await;
        assert_eq!((&patched["name"], &patched["artist"]), (&json!("Renamed"), &json!("Else")));
        expect(admin.delete(&path).send().await.unwrap(), 204).await;
        let r = admin.get(&path).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": "No Album matches the given query."}));

        let other = new_album(&admin).await;
        let delete = format!("/music/album/{}/delete", other["id"]);
        let r = admin.get(&delete).send().await.unwrap();
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"GET\" not allowed."}));
        expect(admin.delete(&delete).send().await.unwrap(), 204).await;
        let r = admin.delete(&delete).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": "No Album matches the given query."}));
        assert_eq!(app.count("albums").await, 0);
    }

    async fn album_and_song_writes_are_401_anonymous_and_403_for_users(app) {
        let admin = app.staff("admin").await;
        let alice = app.user("alice").await;
        let album = new_album(&admin).await;
        let song = new_song(&admin, &album, 1).await;
        let album_body = json!({"name": "n", "artist": "a", "year_released": "2000-01-01"});
        let song_body = json!({"song_name": "x", "album": album["id"], "num_streams": 1});
        let anon = app.anon();
        for (path, method, body) in [
            ("/music/album".to_owned(), "POST", &album_body),
            ("/music/album/create".to_owned(), "POST", &album_body),
            (format!("/music/album/{}", album["id"]), "PUT", &album_body),
            (format!("/music/album/{}", album["id"]), "PATCH", &album_body),
            (format!("/music/album/{}", album["id"]), "DELETE", &album_body),
            (format!("/music/album/{}/delete", album["id"]), "DELETE", &album_body),
            (format!("/music/album/{}/delete", album["id"]), "GET", &album_body),
            ("/music/song".to_owned(), "POST", &song_body),
            ("/music/song/create".to_owned(), "POST", &song_body),
            (format!("/music/song/{}", song["id"]), "PUT", &song_body),
            (format!("/music/song/{}", song["id"]), "PATCH", &song_body),
            (format!("/music/song/{}", song["id"]), "DELETE", &song_body),
            (format!("/music/song/{}/delete", song["id"]), "DELETE", &song_body),
        ] {
            let method: reqwest::Method = method.parse().unwrap();
            let r = anon.request(method.clone(), app.url(&path)).json(body).send().await.unwrap();
            assert_eq!(expect_401(r).await, json!({"detail": NOT_PROVIDED}), "{method} {path}");
            let r = alice.request(method.clone(), &path).json(body).send().await.unwrap();
            assert_eq!(expect(r, 403).await, json!({"detail": NO_PERMISSION}), "{method} {path}");
        }
        assert_eq!((app.count("albums").await, app.count("songs").await), (1, 1));
        assert_eq!(expect(anon.get(app.url(&format!("/music/song/{}", song["id"]))).send().await.unwrap(), 200).await, song);
    }

    async fn album_validation_follows_drf_and_writes_nothing(app) {
        let admin = app.staff("admin").await;
        let r = admin.post("/music/album").json(&json!({})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"name": [REQUIRED], "artist": [REQUIRED], "year_released": [REQUIRED]}));
        let r = admin.post("/music/album").json(&json!({"name": "", "artist": "x".repeat(101), "year_released": "2020-13-01"})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({
            "name": ["This field may not be blank."],
            "artist": ["Ensure this field has no more than 100 characters."],
            "year_released": [DATE_FORMAT],
        }));
        let r = admin.post("/music/album").json(&json!({"name": "x".repeat(201), "artist": "a", "year_released": 19991231})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({
            "name": ["Ensure this field has no more than 200 characters."],
            "year_released": [DATE_FORMAT],
        }));
        let r = admin.post("/music/album").header("content-type", "application/json").body("{\"name\":").send().await.unwrap();
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        assert_eq!(app.count("albums").await, 0);
    }

    async fn staff_creates_moves_and_deletes_songs(app) {
        let admin = app.staff("admin").await;
        let album = new_album(&admin).await;
        let other = new_album(&admin).await;
        let body = json!({"song_name": "Track", "album": album["id"], "num_streams": 42});
        let created = expect(admin.post("/music/song/create").json(&body).send().await.unwrap(), 201).await;
        let id = created["id"].as_i64().unwrap();
        assert_eq!(created, json!({"id": id, "song_name": "Track", "num_streams": 42, "album": album["id"]}));
        let path = format!("/music/song/{id}");
        let put = json!({"song_name": "Moved", "album": other["id"].to_string(), "num_streams": "43"});
        let r = admin.put(&path).json(&put).send().await.unwrap();
        assert_eq!(expect(r, 200).await, json!({"id": id, "song_name": "Moved", "num_streams": 43, "album": other["id"]}));
        let patched = expect(admin.patch(&path).json(&json!({"num_streams": 0})).send().await.unwrap(), 200).await;
        assert_eq!((&patched["num_streams"], &patched["song_name"]), (&json!(0), &json!("Moved")));
        let r = admin.get(&format!("{path}/delete")).send().await.unwrap();
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"GET\" not allowed."}));
        expect(admin.delete(&format!("{path}/delete")).send().await.unwrap(), 204).await;
        let r = admin.get(&path).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": "No Song matches the given query."}));
        let second = new_song(&admin, &album, 0).await;
        let path = format!("/music/song/{}", second["id"]);
        expect(admin.delete(&path).send().await.unwrap(), 204).await;
        let r = admin.delete(&path).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": "No Song matches the given query."}));
        let r = admin.put(&path).header("content-type", "application/json").body("{bad").send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": "No Song matches the given query."}));
    }

    async fn song_validation_follows_drf_and_writes_nothing(app) {
        let admin = app.staff("admin").await;
        let album = new_album(&admin).await;
        let cases = [
            (json!({}), json!({"song_name": [REQUIRED], "num_streams": [REQUIRED], "album": [REQUIRED]})),
            (json!({"song_name": "ok", "album": 999_999, "num_streams": -1}), json!({
                "num_streams": ["Ensure this value is greater than or equal to 0."],
                "album": ["Invalid pk \"999999\" - object does not exist."],
            })),
            (json!({"song_name": "x".repeat(101), "album": album["id"], "num_streams": "many"}), json!({
                "song_name": ["Ensure this field has no more than 100 characters."],
                "num_streams": ["A valid integer is required."],
            })),
            (json!({"song_name": "ok", "album": "abc", "num_streams": 1}),
             json!({"album": ["Incorrect type. Expected pk value, received str."]})),
            (json!({"song_name": "ok", "album": true, "num_streams": 1.5}), json!({
                "num_streams": ["A valid integer is required."],
                "album": ["Incorrect type. Expected pk value, received bool."],
            })),
            (json!({"song_name": "ok", "album": null, "num_streams": null}), json!({
                "num_streams": ["This field may not be null."],
                "album": ["This field may not be null."],
            })),
            (json!({"song_name": "ok", "album": album["id"], "num_streams": 100_000_000_000_000_000_000.0}),
             json!({"num_streams": ["Ensure this value is less than or equal to 9223372036854775807."]})),
        ];
        for (body, errors) in cases {
            let r = admin.post("/music/song").json(&body).send().await.unwrap();
            assert_eq!(expect(r, 400).await, errors, "{body}");
        }
        assert_eq!(app.count("songs").await, 0);
        // beyond 32 bits is fine: the column is 64-bit
        let big = json!({"song_name": "hit", "album": album["id"], "num_streams": 2_147_483_648_i64});
        assert_eq!(expect(admin.post("/music/song").json(&big).send().await.unwrap(), 201).await["num_streams"], 2_147_483_648_i64);
    }

    async fn song_in_album_lists_one_albums_songs_without_the_album(app) {
        let admin = app.staff("admin").await;
        let (a1, a2) = (new_album(&admin).await, new_album(&admin).await);
        let s1 = new_song(&admin, &a1, 1).await;
        let s2 = new_song(&admin, &a1, 2).await;
        let s3 = new_song(&admin, &a2, 3).await;
        let anon = app.anon();
        let got = expect(anon.get(app.url(&format!("/music/songInAlbum?album={}", a1["id"]))).send().await.unwrap(), 200).await;
        assert_eq!(got, json!([
            {"id": s1["id"], "song_name": "Song", "num_streams": 1},
            {"id": s2["id"], "song_name": "Song", "num_streams": 2},
        ]));
        let got = expect(anon.get(app.url(&format!("/music/songInAlbum?album={}", a2["id"]))).send().await.unwrap(), 200).await;
        assert_eq!(ids(&got), [s3["id"].as_i64().unwrap()]);
        let r = anon.get(app.url("/music/songInAlbum?album=999999")).send().await.unwrap();
        assert_eq!(expect(r, 200).await, json!([]));
        let r = anon.get(app.url(&format!("/music/songInAlbum?album={}&limit=1", a1["id"]))).send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "2");
        assert!(r.headers()["link"].to_str().unwrap().contains(&format!("album={}&limit=1&offset=1", a1["id"])));
        assert_eq!(ids(&expect(r, 200).await), [s1["id"].as_i64().unwrap()]);
    }

    async fn song_in_album_needs_an_integer_album(app) {
        let anon = app.anon();
        let r = anon.get(app.url("/music/songInAlbum")).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"album": [REQUIRED]}));
        for query in ["album=abc", "album=", "album=1&album=x"] {
            let r = anon.get(app.url(&format!("/music/songInAlbum?{query}"))).send().await.unwrap();
            assert_eq!(expect(r, 400).await, json!({"album": ["A valid integer is required."]}), "{query}");
        }
    }

    async fn deleting_an_album_deletes_its_songs_and_their_likes(app) {
        let admin = app.staff("admin").await;
        let alice = app.user("alice").await;
        let album = new_album(&admin).await;
        let kept = new_album(&admin).await;
        let songs = [new_song(&admin, &album, 0).await, new_song(&admin, &album, 0).await];
        let other = new_song(&admin, &kept, 0).await;
        let like = expect(alice.post("/music/likes").json(&json!({"song": songs[0]["id"]})).send().await.unwrap(), 201).await;
        let kept_like = expect(alice.post("/music/likes").json(&json!({"song": other["id"]})).send().await.unwrap(), 201).await;
        expect(admin.delete(&format!("/music/album/{}", album["id"])).send().await.unwrap(), 204).await;
        for s in &songs {
            let r = app.anon().get(app.url(&format!("/music/song/{}", s["id"]))).send().await.unwrap();
            assert_eq!(expect(r, 404).await, json!({"detail": "No Song matches the given query."}));
        }
        assert_eq!(expect(alice.get("/music/likes").send().await.unwrap(), 200).await, json!([kept_like]));
        let r = alice.delete(&format!("/music/likes/{}", like["id"])).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": "No UserLikesSong matches the given query."}));
        assert_eq!((app.count("albums").await, app.count("songs").await, app.count("song_likes").await), (1, 1, 1));
    }

    async fn likes_need_a_login(app) {
        let anon = app.anon();
        for r in [
            anon.get(app.url("/music/likes")).send().await.unwrap(),
            anon.post(app.url("/music/likes")).json(&json!({"song": 1})).send().await.unwrap(),
            anon.delete(app.url("/music/likes/1")).send().await.unwrap(),
            anon.get(app.url("/music/likes/1")).send().await.unwrap(),
        ] {
            assert_401(r).await;
        }
    }

    async fn likes_are_per_user_unique_and_removed_by_their_owner(app) {
        let admin = app.staff("admin").await;
        let carol = app.user("carol").await;
        let dave = app.user("dave").await;
        let album = new_album(&admin).await;
        let song = new_song(&admin, &album, 0).await;
        let like = expect(carol.post("/music/likes").json(&json!({"song": song["id"], "user": dave.id})).send().await.unwrap(), 201).await;
        assert_eq!(like, json!({"id": like["id"], "user": carol.id, "song": song["id"]}));
        let r = carol.post("/music/likes").json(&json!({"song": song["id"]})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"non_field_errors": [NOT_UNIQUE]}));
        assert_eq!(app.count("song_likes").await, 1);
        let other = expect(dave.post("/music/likes").json(&json!({"song": song["id"]})).send().await.unwrap(), 201).await;
        assert_eq!(other["user"], dave.id);
        assert_eq!(expect(carol.get("/music/likes").send().await.unwrap(), 200).await, json!([like]));
        assert_eq!(expect(dave.get("/music/likes").send().await.unwrap(), 200).await, json!([other]));
        // another user's like is not found; staff is no exception
        for actor in [&dave, &admin] {
            let r = actor.delete(&format!("/music/likes/{}", like["id"])).send().await.unwrap();
            assert_eq!(expect(r, 404).await, json!({"detail": "No UserLikesSong matches the given query."}));
        }
        let r = carol.get(&format!("/music/likes/{}", like["id"])).send().await.unwrap();
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"GET\" not allowed."}));
        expect(carol.delete(&format!("/music/likes/{}", like["id"])).send().await.unwrap(), 204).await;
        assert_eq!(expect(carol.get("/music/likes").send().await.unwrap(), 200).await, json!([]));
        let again = expect(carol.post("/music/likes").json(&json!({"song": song["id"]})).send().await.unwrap(), 201).await;
        assert_ne!(again["id"], like["id"]);
    }

    async fn like_validation_writes_nothing(app) {
        let alice = app.user("alice").await;
        let cases = [
            (json!({}), json!({"song": [REQUIRED]})),
            (json!({"song": 999_999}), json!({"song": ["Invalid pk \"999999\" - object does not exist."]})),
            (json!({"song": "x"}), json!({"song": ["Incorrect type. Expected pk value, received str."]})),
        ];
        for (body, errors) in cases {
            let r = alice.post("/music/likes").json(&body).send().await.unwrap();
            assert_eq!(expect(r, 400).await, errors, "{body}");
        }
        let r = alice.post("/music/likes").header("content-type", "application/json").body("{\"song\": 1,").send().await.unwrap();
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        assert_eq!(app.count("song_likes").await, 0);
    }

    async fn two_simultaneous_likes_make_one_row(app) {
        let admin = app.staff("admin").await;
        let alice = app.user("alice").await;
        let album = new_album(&admin).await;
        let song = new_song(&admin, &album, 0).await;
        let body = json!({"song": song["id"]});
        let sends = (0..2).map(|_| alice.post("/music/likes").json(&body).send());
        let mut statuses: Vec<u16> =
            futures::future::join_all(sends).await.into_iter().map(|r| r.unwrap().status().as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 400]);
        assert_eq!(app.count("song_likes").await, 1);
    }

    async fn simultaneous_likes_of_many_songs_each_keep_one_row(app) {
        // Sent together, they are written together (one SQLite transaction): the
        // second like of a song is refused, and refusing it undoes nothing else.
        let admin = app.staff("admin").await;
        let alice = app.user("alice").await;
        let album = new_album(&admin).await;
        let mut songs = Vec::new();
        for n in 0..12 {
            songs.push(new_song(&admin, &album, n).await["id"].as_i64().unwrap());
        }
        let sends = songs.iter().chain(&songs).map(|id| {
            let request = alice.post("/music/likes").json(&json!({"song": id})).send();
            async move { (*id, request.await.unwrap()) }
        });
        let mut created = Vec::new();
        for (song, r) in futures::future::join_all(sends).await {
            match r.status().as_u16() {
                201 => created.push((song, expect(r, 201).await["id"].as_i64().unwrap())),
                400 => {}
                other => panic!("like of song {song}: {other}"),
            }
        }
        created.sort_unstable();
        let liked: Vec<i64> = created.iter().map(|(song, _)| *song).collect();
        assert_eq!(liked, songs, "one like per song");
        assert_eq!(app.count("song_likes").await, 12);
        let r = alice.get("/music/likes").send().await.unwrap();
        let mut stored: Vec<(i64, i64)> = expect(r, 200)
            .await
            .as_array()
            .unwrap()
            .iter()
            .map(|like| (like["song"].as_i64().unwrap(), like["id"].as_i64().unwrap()))
            .collect();
        stored.sort_unstable();
        assert_eq!(stored, created, "each like answered 201 is stored as answered");
    }

    async fn catalogue_lists_are_public_ordered_and_paged(app) {
        let admin = app.staff("admin").await;
        let mut albums = Vec::new();
        for _ in 0..3 {
            albums.push(new_album(&admin).await);
        }
        let song = new_song(&admin, &albums[0], 5).await;
        let anon = app.anon();
        let r = anon.get(app.url("/music/album?limit=2")).send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "3");
        assert!(r.headers()["link"].to_str().unwrap().contains("rel=\"next\""));
        assert_eq!(expect(r, 200).await, json!(albums[..2]));
        let r = anon.get(app.url("/music/album?limit=2&offset=2")).send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "3");
        assert!(r.headers()["link"].to_str().unwrap().contains("rel=\"prev\""));
        assert_eq!(expect(r, 200).await, json!(albums[2..]));
        let r = anon.get(app.url("/music/song?offset=5")).send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "1");
        assert_eq!(expect(r, 200).await, json!([]));
        let r = anon.get(app.url("/music/song")).send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "1");
        assert!(!r.headers().contains_key("link"));
        assert_eq!(expect(r, 200).await, json!([song]));
        let r = anon.get(app.url("/music/album/abc")).send().await.unwrap();
        assert_eq!(r.status(), 404);
    }
}
