//! `/api/messages`: seed 000's shared message board.
use crate::helpers::*;

const NOT_FOUND: &str = "No Message matches the given query.";
const NO_PERMISSION: &str = "You do not have permission to perform this action.";

fn detail_path(message: &Value) -> String {
    format!("/api/messages/{}", message["id"])
}

both_backends! {
    async fn anonymous_callers_get_401_on_every_method(app) {
        let anon = app.anon();
        assert_401(anon.get(app.url("/api/messages")).send().await.unwrap()).await;
        assert_401(anon.post(app.url("/api/messages")).json(&json!({"text": "hi"})).send().await.unwrap()).await;
        assert_401(anon.get(app.url("/api/messages/1")).send().await.unwrap()).await;
        assert_401(anon.patch(app.url("/api/messages/1")).json(&json!({"text": "x"})).send().await.unwrap()).await;
        assert_401(anon.delete(app.url("/api/messages/1")).send().await.unwrap()).await;
        // DRF authenticates before it looks at the method
        assert_401(anon.put(app.url("/api/messages/1")).json(&json!({"text": "x"})).send().await.unwrap()).await;
        assert_eq!(app.count("messages").await, 0);
    }

    async fn posting_sets_sender_and_timestamp_and_ignores_server_fields(app) {
        let alice = app.user("alice").await;
        let r = alice
            .post("/api/messages")
            .json(&json!({"text": "  hello  ", "sender": "mallory", "timestamp": "1999-01-01T00:00:00Z", "id": 77}))
            .send()
            .await
            .unwrap();
        let m = expect(r, 201).await;
        assert_eq!(m.as_object().unwrap().len(), 4, "{m}");
        assert_eq!(m["text"], "hello");
        assert_eq!(m["sender"], alice.username.as_str());
        assert_ne!(m["id"], 77);
        let stamp = m["timestamp"].as_str().unwrap();
        assert!(stamp.ends_with('Z') && !stamp.starts_with("1999"), "{stamp}");
        assert_eq!(app.count("messages").await, 1);
    }

    async fn a_form_encoded_message_is_accepted(app) {
        let alice = app.user("alice").await;
        let r = alice.post("/api/messages").form(&[("text", "from a form")]).send().await.unwrap();
        assert_eq!(expect(r, 201).await["text"], "from a form");
    }

    async fn messages_posted_together_each_answer_their_own_sender_and_text(app) {
        // on PostgreSQL these go out as multi-row inserts; each answer must be its own row
        let mut actors = Vec::new();
        for n in 0..4 {
            actors.push(app.user(&format!("poster{n}")).await);
        }
        let posts = actors.iter().flat_map(|actor| (0..12).map(move |k| async move {
            let text = format!("{} says {k}", actor.username);
            let r = actor.post("/api/messages").json(&json!({"text": text})).send().await.unwrap();
            (actor, text, expect(r, 201).await)
        }));
        let answers = futures_util::future::join_all(posts).await;
        let mut ids = std::collections::HashSet::new();
        for (actor, text, m) in &answers {
            assert_eq!(m["text"], text.as_str(), "{m}");
            assert_eq!(m["sender"], actor.username.as_str(), "{m}");
            assert!(ids.insert(m["id"].as_i64().unwrap()), "an id answered twice: {m}");
            let stored = expect(actor.get(&detail_path(m)).send().await.unwrap(), 200).await;
            assert_eq!(&stored, m);
        }
        assert_eq!(app.count("messages").await, 48);
    }

    async fn the_list_is_oldest_first_with_sender_usernames(app) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let a = post_message(&alice, "first").await;
        let b = post_message(&bob, "second").await;
        let c = post_message(&alice, "third").await;
        let r = bob.get("/api/messages").send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "3");
        assert!(r.headers().get("link").is_none());
        assert_eq!(expect(r, 200).await, json!([a, b, c]));
    }

    async fn the_list_is_paged_with_total_and_links(app) {
        let alice = app.user("alice").await;
        let mut all = Vec::new();
        for i in 0..5 {
            all.push(post_message(&alice, &format!("m{i}")).await);
        }
        let r = alice.get("/api/messages?limit=2&offset=2").send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "5");
        let link = r.headers()["link"].to_str().unwrap().to_owned();
        assert!(link.contains("/api/messages?limit=2&offset=4>; rel=\"next\""), "{link}");
        assert!(link.contains("/api/messages?limit=2>; rel=\"prev\""), "{link}");
        assert_eq!(expect(r, 200).await, json!(all[2..4]));
        let r = alice.get("/api/messages?limit=2&offset=4").send().await.unwrap();
        let link = r.headers()["link"].to_str().unwrap().to_owned();
        assert!(!link.contains("next") && link.contains("offset=2>; rel=\"prev\""), "{link}");
        assert_eq!(expect(r, 200).await, json!(all[4..]));
        // past the end: no rows, the total still counted
        let r = alice.get("/api/messages?limit=2&offset=10").send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "5");
        assert_eq!(expect(r, 200).await, json!([]));
    }

    async fn any_user_reads_a_message_and_a_missing_one_is_404(app) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let m = post_message(&alice, "public").await;
        assert_eq!(expect(bob.get(&detail_path(&m)).send().await.unwrap(), 200).await, m);
        let missing = expect(bob.get("/api/messages/999999").send().await.unwrap(), 404).await;
        assert_eq!(missing, json!({"detail": NOT_FOUND}));
    }

    async fn a_non_numeric_id_matches_no_route(app) {
        let alice = app.user("alice").await;
        let body = expect(alice.get("/api/messages/abc").send().await.unwrap(), 404).await;
        assert_eq!(body, json!({"detail": "Not found."}));
        expect(app.anon().get(app.url("/api/messages/abc")).send().await.unwrap(), 404).await;
    }

    async fn the_sender_edits_and_deletes_their_message(app) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let m = post_message(&alice, "draft").await;
        let r = alice
            .patch(&detail_path(&m))
            .json(&json!({"text": "edited", "sender": bob.username, "timestamp": "2000-01-01T00:00:00Z"}))
            .send()
            .await
            .unwrap();
        let edited = expect(r, 200).await;
        assert_eq!(edited, json!({"id": m["id"], "text": "edited", "sender": alice.username, "timestamp": m["timestamp"]}));
        assert_eq!(expect(bob.get(&detail_path(&m)).send().await.unwrap(), 200).await, edited);
        // a PATCH without fields changes nothing
        assert_eq!(expect(alice.patch(&detail_path(&m)).json(&json!({})).send().await.unwrap(), 200).await, edited);
        let r = alice.delete(&detail_path(&m)).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert!(r.text().await.unwrap().is_empty());
        let gone = expect(alice.get(&detail_path(&m)).send().await.unwrap(), 404).await;
        assert_eq!(gone, json!({"detail": NOT_FOUND}));
        expect(alice.delete(&detail_path(&m)).send().await.unwrap(), 404).await;
        assert_eq!(app.count("messages").await, 0);
    }

    async fn another_user_may_not_edit_or_delete(app) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let m = post_message(&alice, "mine").await;
        let r = bob.patch(&detail_path(&m)).json(&json!({"text": "hijack"})).send().await.unwrap();
        assert_eq!(expect(r, 403).await, json!({"detail": NO_PERMISSION}));
        let r = bob.delete(&detail_path(&m)).send().await.unwrap();
        assert_eq!(expect(r, 403).await, json!({"detail": NO_PERMISSION}));
        // permission is checked before the body is read, as in DRF
        let r = bob
            .patch(&detail_path(&m))
            .header("content-type", "application/json")
            .body("{\"text\":")
            .send()
            .await
            .unwrap();
        expect(r, 403).await;
        assert_eq!(expect(alice.get(&detail_path(&m)).send().await.unwrap(), 200).await, m);
        assert_eq!(app.count("messages").await, 1);
    }

    async fn staff_edit_and_delete_anyones_message(app) {
        let (alice, moderator) = (app.user("alice").await, app.staff("mod").await);
        let m = post_message(&alice, "moderate me").await;
        let r = moderator.patch(&detail_path(&m)).json(&json!({"text": "moderated"})).send().await.unwrap();
        let edited = expect(r, 200).await;
        assert_eq!(edited["text"], "moderated");
        assert_eq!(edited["sender"], alice.username.as_str());
        assert_eq!(moderator.delete(&detail_path(&m)).send().await.unwrap().status(), 204);
        assert_eq!(app.count("messages").await, 0);
    }

    async fn put_and_other_methods_are_405_for_a_user(app) {
        let alice = app.user("alice").await;
        let m = post_message(&alice, "put").await;
        let r = alice.put(&detail_path(&m)).json(&json!({"text": "x"})).send().await.unwrap();
        let allow = r.headers()["allow"].to_str().unwrap().to_owned();
        assert!(allow.contains("PATCH") && !allow.contains("PUT"), "{allow}");
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"PUT\" not allowed."}));
        let r = alice.post(&detail_path(&m)).json(&json!({"text": "x"})).send().await.unwrap();
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"POST\" not allowed."}));
        let r = alice.delete("/api/messages").send().await.unwrap();
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"DELETE\" not allowed."}));
        assert_eq!(expect(alice.get(&detail_path(&m)).send().await.unwrap(), 200).await["text"], "put");
    }

    async fn bad_input_is_400_and_writes_nothing(app) {
        let alice = app.user("alice").await;
        let cases = [
            (json!({}), json!({"text": ["This field is required."]})),
            (json!({"text": ""}), json!({"text": ["This field may not be blank."]})),
            (json!({"text": "   "}), json!({"text": ["This field may not be blank."]})),
            (json!({"text": null}), json!({"text": ["This field may not be null."]})),
            (json!({"text": true}), json!({"text": ["Not a valid string."]})),
            (json!({"text": ["a"]}), json!({"text": ["Not a valid string."]})),
            (json!({"text": "x".repeat(4001)}), json!({"text": ["Ensure this field has no more than 4000 characters."]})),
            (json!(["text"]), json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})),
            (json!("text"), json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]})),
        ];
        for (body, errors) in cases {
            let r = alice.post("/api/messages").json(&body).send().await.unwrap();
            assert_eq!(expect(r, 400).await, errors, "{body}");
        }
        let r = alice
            .post("/api/messages")
            .header("content-type", "application/json")
            .body("{\"text\": ")
            .send()
            .await
            .unwrap();
        let body = expect(r, 400).await;
        assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error - "), "{body}");
        assert_eq!(app.count("messages").await, 0);
        // the limit is inclusive, counted in characters
        assert_eq!(post_message(&alice, &"é".repeat(4000)).await["text"].as_str().unwrap().chars().count(), 4000);
        assert_eq!(app.count("messages").await, 1);
    }

    async fn a_bad_patch_leaves_the_message_unchanged(app) {
        let alice = app.user("alice").await;
        let m = post_message(&alice, "valid").await;
        for (body, errors) in [
            (json!({"text": ""}), json!({"text": ["This field may not be blank."]})),
            (json!({"text": null}), json!({"text": ["This field may not be null."]})),
            (json!({"text": "x".repeat(4001)}), json!({"text": ["Ensure this field has no more than 4000 characters."]})),
            (json!([1]), json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})),
        ] {
            let r = alice.patch(&detail_path(&m)).json(&body).send().await.unwrap();
            assert_eq!(expect(r, 400).await, errors);
        }
        let r = alice
            .patch(&detail_path(&m))
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .unwrap();
        expect(r, 400).await;
        // an unknown id is 404 before the body is read
        let r = alice
            .patch("/api/messages/999999")
            .header("content-type", "application/json")
            .body("{oops")
            .send()
            .await
            .unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": NOT_FOUND}));
        assert_eq!(expect(alice.get(&detail_path(&m)).send().await.unwrap(), 200).await, m);
    }
}
