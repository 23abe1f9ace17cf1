//! Forms validate as the API does, keep what was typed and show each error beside its
//! field; lists search, sort and page; deleting an album lists what goes with it.

use super::*;

async fn add_album(browser: &Session, name: &str, artist: &str) {
    let r = browser
        .post(
            "/admin/music/album/add/",
            &[
                ("name", name),
                ("artist", artist),
                ("year_released", "1999-12-31"),
            ],
        )
        .await;
    assert_eq!(r.status(), 302, "{}", r.text().await.unwrap());
}

both_backends! {
    async fn albums_are_added_and_edited_through_the_forms(app) {
        let staff = app.staff("staff").await;
        let browser = admin_login(&app, &staff.username).await;
        let (status, html) = browser.page("/admin/music/album/add/").await;
        assert_eq!(status, 200);
        assert!(html.contains("type=\"date\" name=\"year_released\""));
        let r = browser.post("/admin/music/album/add/", &[("name", "  Kind of Blue "), ("artist", "Miles Davis"), ("year_released", "1959-08-17")]).await;
        assert_eq!((r.status().as_u16(), location(&r)), (302, "/admin/music/album/".to_owned()));
        let (_, html) = browser.page("/admin/music/album/").await;
        assert!(html.contains("The album “Kind of Blue” was added successfully."), "{html}");
        assert!(html.contains("1 album"));
        // the message shows once
        assert!(!browser.page("/admin/music/album/").await.1.contains("added successfully"));
        let id = last_id(&app, "albums").await;
        let body = expect(app.anon().get(app.url(&format!("/music/album/{id}"))).send().await.unwrap(), 200).await;
        assert_eq!(body, json!({"id": id, "name": "Kind of Blue", "artist": "Miles Davis", "year_released": "1959-08-17"}));
        let change = format!("/admin/music/album/{id}/change/");
        let (_, html) = browser.page(&change).await;
        assert!(html.contains("value=\"Kind of Blue\"") && html.contains("value=\"1959-08-17\""));
        let r = browser.post(&change, &[("name", "Kind of Blue (Legacy)"), ("artist", "Miles Davis"), ("year_released", "1997-03-25")]).await;
        assert_eq!(r.status(), 302);
        let body = expect(app.anon().get(app.url(&format!("/music/album/{id}"))).send().await.unwrap(), 200).await;
        assert_eq!(body["name"], "Kind of Blue (Legacy)");
        assert_eq!(body["year_released"], "1997-03-25");
    }

    async fn invalid_input_is_shown_beside_its_field_and_kept(app) {
        let staff = app.staff("staff").await;
        let browser = admin_login(&app, &staff.username).await;
        add_album(&browser, "Album", "Artist").await;
        let album = last_id(&app, "albums").await.to_string();
        // the API's messages, beside their fields, with the typed values kept
        let (status, html) = browser.submit("/admin/music/song/add/", &[("song_name", "My <b>song</b>"), ("album", &album), ("num_streams", "-5")]).await;
        assert_eq!(status, 200);
        assert!(field_errors(&html, "num_streams").contains("Ensure this value is greater than or equal to 0."));
        assert!(html.contains("value=\"My &lt;b&gt;song&lt;&#x2f;b&gt;\""), "the typed name is kept, escaped: {html}");
        assert!(html.contains("value=\"-5\""));
        assert!(html.contains(&format!("<option value=\"{album}\" selected>Album</option>")), "the album stays chosen");
        assert!(!html.contains("<b>song</b>"));
        assert_eq!(app.count("songs").await, 0);
        let (_, html) = browser.submit("/admin/music/song/add/", &[("song_name", ""), ("album", "999"), ("num_streams", "many")]).await;
        assert!(field_errors(&html, "song_name").contains("This field may not be blank."));
        assert!(field_errors(&html, "album").contains("Invalid pk &quot;999&quot; - object does not exist."));
        assert!(field_errors(&html, "num_streams").contains("A valid integer is required."));
        let (_, html) = browser.submit("/admin/music/album/add/", &[("name", &"x".repeat(201)), ("artist", "A"), ("year_released", "31/12/1999")]).await;
        assert!(field_errors(&html, "name").contains("Ensure this field has no more than 200 characters."));
        assert!(field_errors(&html, "year_released").contains("Date has wrong format. Use one of these formats instead: YYYY-MM-DD."));
        assert_eq!(app.count("albums").await, 1);
        // fixed, it is saved
        let r = browser.post("/admin/music/song/add/", &[("song_name", "Fixed"), ("album", &album), ("num_streams", "5")]).await;
        assert_eq!(r.status(), 302);
        assert_eq!(app.count("songs").await, 1);
        // the other domains' forms use their API rules too
        let user = staff.id.to_string();
        let (_, html) = browser.submit("/admin/tasks/task/add/", &[("user", &user), ("title", &"t".repeat(201))]).await;
        assert!(field_errors(&html, "title").contains("no more than 200 characters"));
        let (_, html) = browser.submit("/admin/blog/blogpost/add/", &[("author", ""), ("title", "T"), ("content", " ")]).await;
        assert!(field_errors(&html, "content").contains("This field may not be blank."));
        assert!(field_errors(&html, "author").contains("This field may not be null.") || field_errors(&html, "author").contains("Incorrect type"));
        let (_, html) = browser.submit("/admin/messages/message/add/", &[("sender", &user), ("text", "")]).await;
        assert!(field_errors(&html, "text").contains("This field may not be blank."));
        assert_eq!((app.count("tasks").await, app.count("blog_posts").await, app.count("messages").await), (0, 0, 0));
        // a checkbox left unchecked is false
        let r = browser.post("/admin/tasks/task/add/", &[("user", &user), ("title", "Done?")]).await;
        assert_eq!(r.status(), 302);
        let task = last_id(&app, "tasks").await;
        let r = browser.post(&format!("/admin/tasks/task/{task}/change/"), &[("user", &user), ("title", "Done"), ("completed", "on")]).await;
        assert_eq!(r.status(), 302);
        let (_, html) = browser.page("/admin/tasks/task/").await;
        assert!(html.contains("<td>Yes</td>"), "{html}");
        // a like twice is the API's unique-set error
        let song = last_id(&app, "songs").await.to_string();
        assert_eq!(browser.post("/admin/music/like/add/", &[("user", &user), ("song", &song)]).await.status(), 302);
        let (status, html) = browser.submit("/admin/music/like/add/", &[("user", &user), ("song", &song)]).await;
        assert_eq!(status, 200);
        assert!(html.contains("The fields user, song must make a unique set."));
        assert_eq!(app.count("song_likes").await, 1);
    }

    async fn deleting_an_album_lists_its_songs_and_likes_then_deletes_them(app) {
        let staff = app.staff("staff").await;
        let fan = app.user("fan").await;
        let browser = admin_login(&app, &staff.username).await;
        add_album(&browser, "Doomed", "Band").await;
        add_album(&browser, "Kept", "Band").await;
        let album = last_id(&app, "albums").await - 1;
        for name in ["First song", "Second song"] {
            let r = browser.post("/admin/music/song/add/", &[("song_name", name), ("album", &album.to_string()), ("num_streams", "3")]).await;
            assert_eq!(r.status(), 302);
        }
        let song = last_id(&app, "songs").await;
        expect(fan.post("/music/likes").json(&json!({"song": song})).send().await.unwrap(), 201).await;
        let path = format!("/admin/music/album/{album}/delete/");
        let (status, html) = browser.page(&path).await;
        assert_eq!(status, 200);
        for text in ["Doomed", "Song: First song", "Song: Second song", &format!("Like: {} likes Second song", fan.username), "Songs: 2", "Likes: 1"] {
            assert!(html.contains(text), "the preview lacks {text}: {html}");
        }
        assert_eq!(app.count("songs").await, 2, "a preview deletes nothing");
        let r = browser.post(&path, &[("post", "yes")]).await;
        assert_eq!((r.status().as_u16(), location(&r)), (302, "/admin/music/album/".to_owned()));
        assert_eq!((app.count("albums").await, app.count("songs").await, app.count("song_likes").await), (1, 0, 0));
        assert!(browser.page("/admin/music/album/").await.1.contains("was deleted successfully"));
        assert_eq!(browser.page(&path).await.0, 404);
    }

    async fn lists_search_sort_and_page(app) {
        let staff = app.staff("staff").await;
        let browser = admin_login(&app, &staff.username).await;
        app.db.run(|conn| {
            for i in 0..104 {
                <hearth::domains::music::inserts::AddAlbum as hearth::db::Inserts>::insert_one(conn, &hearth::domains::music::queries::AlbumFields {
                    name: Some(format!("Album {i:03}")),
                    artist: Some("Various".into()),
                    year_released: chrono::NaiveDate::from_ymd_opt(2000, 1, 1),
                })?;
            }
            Ok(())
        }).await.unwrap();
        add_album(&browser, "Zeppelin 100% IV", "Led Zeppelin").await;
        let (_, html) = browser.page("/admin/music/album/").await;
        assert!(html.contains("105 albums"));
        assert_eq!(html.matches("/change/\">").count(), 100);
        assert!(html.contains("?p=2\">2</a>"), "a link to page 2");
        let (_, html) = browser.page("/admin/music/album/?p=2").await;
        assert_eq!(html.matches("/change/\">").count(), 5);
        // search: case-insensitive, over name and artist, wildcards taken literally
        let (_, html) = browser.page("/admin/music/album/?q=zEPP").await;
        assert!(html.contains("1 album") && html.contains("Zeppelin 100% IV"), "{html}");
        let (_, html) = browser.page("/admin/music/album/?q=100%25").await;
        assert!(html.contains("1 album"));
        let (_, html) = browser.page("/admin/music/album/?q=_").await;
        assert!(html.contains("0 albums"));
        let (_, html) = browser.page("/admin/music/album/?q=various").await;
        assert!(html.contains("104 albums"));
        // sort by a column, both ways; an unknown column is ignored
        let first_row = |html: &str| {
            let start = html.find("<tbody>").unwrap();
            let link = html[start..].find("/change/\">").unwrap() + start + 10;
            html[link..link + html[link..].find('<').unwrap()].to_owned()
        };
        assert_eq!(first_row(&browser.page("/admin/music/album/?o=-name").await.1), "Zeppelin 100% IV");
        assert_eq!(first_row(&browser.page("/admin/music/album/?o=name").await.1), "Album 000");
        assert_eq!(first_row(&browser.page("/admin/music/album/?o=-artist").await.1), "Album 000");
        assert_eq!(first_row(&browser.page("/admin/music/album/?o=password").await.1), "Album 000");
        let (_, html) = browser.page("/admin/music/album/?o=-name&q=album").await;
        assert!(html.contains("104 albums") && first_row(&html) == "Album 103");
        assert!(html.contains("?q=album&amp;o=name\">Name"), "the heading link flips the order");
    }
}
