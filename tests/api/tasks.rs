//! `/api/tasks/`: seed 001's per-user todo list.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test loudly"
)]

use crate::helpers::*;

const NOT_FOUND: &str = "No Task matches the given query.";

async fn post_task(actor: &Actor, body: Value) -> Value {
    expect(
        actor.post("/api/tasks/").json(&body).send().await.unwrap(),
        201,
    )
    .await
}

fn detail_path(task: &Value) -> String {
    format!("/api/tasks/{}/", task["id"])
}

async fn assert_not_found(r: Response) {
    assert_eq!(expect(r, 404).await, json!({"detail": NOT_FOUND}));
}

both_backends! {
    async fn anonymous_callers_get_401_on_every_method(app) {
        let anon = app.anon();
        let task = json!({"title": "x"});
        assert_401(anon.get(app.url("/api/tasks/")).send().await.unwrap()).await;
        assert_401(anon.post(app.url("/api/tasks/")).json(&task).send().await.unwrap()).await;
        assert_401(anon.get(app.url("/api/tasks/1/")).send().await.unwrap()).await;
        assert_401(anon.put(app.url("/api/tasks/1/")).json(&task).send().await.unwrap()).await;
        assert_401(anon.patch(app.url("/api/tasks/1/")).json(&task).send().await.unwrap()).await;
        assert_401(anon.delete(app.url("/api/tasks/1/")).send().await.unwrap()).await;
        assert_401(anon.post(app.url("/api/tasks/1/")).json(&task).send().await.unwrap()).await;
        assert_eq!(app.count("tasks").await, 0);
    }

    async fn a_new_task_is_not_completed_and_server_fields_are_ignored(app) {
        let alice = app.user("alice").await;
        let t = post_task(&alice, json!({"title": " buy milk ", "id": 99, "user": 12345, "owner": "mallory",
            "created_at": "2000-01-01T00:00:00Z", "updated_at": "2000-01-01T00:00:00Z"})).await;
        let keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 5, "{t}");
        assert_eq!((&t["title"], &t["completed"]), (&json!("buy milk"), &json!(false)));
        assert_ne!(t["id"], 99);
        for stamp in [&t["created_at"], &t["updated_at"]] {
            let stamp = stamp.as_str().unwrap();
            assert!(stamp.ends_with('Z') && !stamp.starts_with("2000"), "{stamp}");
        }
        let done = post_task(&alice, json!({"title": "done already", "completed": true})).await;
        assert_eq!(done["completed"], true);
        let r = alice.post("/api/tasks/").form(&[("title", "from a form"), ("completed", "on")]).send().await.unwrap();
        assert_eq!(expect(r, 201).await["completed"], true);
        assert_eq!(app.count("tasks").await, 3);
    }

    async fn each_user_sees_only_their_own_tasks(app) {
        let (carol, dave) = (app.user("carol").await, app.user("dave").await);
        let mine = post_task(&carol, json!({"title": "carol's"})).await;
        let theirs = post_task(&dave, json!({"title": "dave's"})).await;
        let r = carol.get("/api/tasks/").send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "1");
        assert_eq!(expect(r, 200).await, json!([mine]));
        let url = detail_path(&theirs);
        assert_not_found(carol.get(&url).send().await.unwrap()).await;
        assert_not_found(carol.put(&url).json(&json!({"title": "mine now"})).send().await.unwrap()).await;
        assert_not_found(carol.patch(&url).json(&json!({"completed": true})).send().await.unwrap()).await;
        assert_not_found(carol.delete(&url).send().await.unwrap()).await;
        // 404 comes before the body is read, so bad input reveals nothing either
        let r = carol.patch(&url).header("content-type", "application/json").body("{oops").send().await.unwrap();
        assert_not_found(r).await;
        assert_not_found(carol.put(&url).json(&json!({"title": ""})).send().await.unwrap()).await;
        assert_eq!(expect(dave.get(&url).send().await.unwrap(), 200).await, theirs);
        assert_eq!(app.count("tasks").await, 2);
    }

    async fn staff_do_not_see_other_users_tasks_either(app) {
        let (alice, admin) = (app.user("alice").await, app.staff("admin").await);
        let t = post_task(&alice, json!({"title": "private"})).await;
        assert_not_found(admin.get(&detail_path(&t)).send().await.unwrap()).await;
        assert_not_found(admin.delete(&detail_path(&t)).send().await.unwrap()).await;
        assert_eq!(expect(admin.get("/api/tasks/").send().await.unwrap(), 200).await, json!([]));
    }

    async fn put_replaces_and_needs_a_title(app) {
        let alice = app.user("alice").await;
        let t = post_task(&alice, json!({"title": "draft"})).await;
        let url = detail_path(&t);
        assert_eq!(expect(alice.get(&url).send().await.unwrap(), 200).await, t);
        let put = expect(alice.put(&url).json(&json!({"title": "final", "completed": true})).send().await.unwrap(), 200).await;
        assert_eq!((&put["id"], &put["title"], &put["completed"]), (&t["id"], &json!("final"), &json!(true)));
        assert_eq!(put["created_at"], t["created_at"]);
        assert!(put["updated_at"].as_str() >= t["updated_at"].as_str());
        let r = alice.put(&url).json(&json!({"completed": false})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"title": ["This field is required."]}));
        // completed has a default, so DRF leaves it as it is when a PUT omits it
        let put = expect(alice.put(&url).json(&json!({"title": "again"})).send().await.unwrap(), 200).await;
        assert_eq!((&put["title"], &put["completed"]), (&json!("again"), &json!(true)));
        assert_eq!(expect(alice.get(&url).send().await.unwrap(), 200).await, put);
    }

    async fn patch_changes_only_the_fields_sent(app) {
        let alice = app.user("alice").await;
        let t = post_task(&alice, json!({"title": "keep me"})).await;
        let url = detail_path(&t);
        let patched = expect(alice.patch(&url).json(&json!({"completed": true})).send().await.unwrap(), 200).await;
        assert_eq!((&patched["title"], &patched["completed"]), (&json!("keep me"), &json!(true)));
        let patched = expect(alice.patch(&url).json(&json!({"title": "renamed", "created_at": "2000-01-01T00:00:00Z"}))
            .send().await.unwrap(), 200).await;
        assert_eq!((&patched["title"], &patched["completed"]), (&json!("renamed"), &json!(true)));
        assert_eq!(patched["created_at"], t["created_at"]);
        let same = expect(alice.patch(&url).json(&json!({})).send().await.unwrap(), 200).await;
        assert_eq!((&same["title"], &same["completed"]), (&json!("renamed"), &json!(true)));
    }

    async fn delete_removes_the_task(app) {
        let alice = app.user("alice").await;
        let t = post_task(&alice, json!({"title": "doomed"})).await;
        let r = alice.delete(&detail_path(&t)).send().await.unwrap();
        assert_eq!(r.status(), 204);
        assert!(r.text().await.unwrap().is_empty());
        assert_not_found(alice.get(&detail_path(&t)).send().await.unwrap()).await;
        assert_not_found(alice.delete(&detail_path(&t)).send().await.unwrap()).await;
        assert_not_found(alice.get("/api/tasks/999999/").send().await.unwrap()).await;
        assert_eq!(app.count("tasks").await, 0);
    }

    async fn bad_input_is_400_and_writes_nothing(app) {
        let alice = app.user("alice").await;
        let cases = [
            (json!({}), json!({"title": ["This field is required."]})),
            (json!({"title": ""}), json!({"title": ["This field may not be blank."]})),
            (json!({"title": null}), json!({"title": ["This field may not be null."]})),
            (json!({"title": {"a": 1}}), json!({"title": ["Not a valid string."]})),
            (json!({"title": "x", "completed": null}), json!({"completed": ["This field may not be null."]})),
            (json!({"title": "x", "completed": 2}), json!({"completed": ["Must be a valid boolean."]})),
            (json!({"title": "x".repeat(201), "completed": "maybe"}), json!({
                "title": ["Ensure this field has no more than 200 characters."],
                "completed": ["Must be a valid boolean."],
            })),
            (json!([{"title": "x"}]), json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})),
            (json!(3), json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]})),
        ];
        for (body, errors) in cases {
            let r = alice.post("/api/tasks/").json(&body).send().await.unwrap();
            assert_eq!(expect(r, 400).await, errors, "{body}");
        }
        let r = alice.post("/api/tasks/").header("content-type", "application/json").body("{\"title\": \"x\",")
            .send().await.unwrap();
        let body = expect(r, 400).await;
        assert!(body["detail"].as_str().unwrap().starts_with("JSON parse error - "), "{body}");
        assert_eq!(app.count("tasks").await, 0);
        assert_eq!(post_task(&alice, json!({"title": "x".repeat(200)})).await["title"].as_str().unwrap().len(), 200);
        assert_eq!(app.count("tasks").await, 1);
    }

    async fn a_bad_update_leaves_the_task_unchanged(app) {
        let alice = app.user("alice").await;
        let t = post_task(&alice, json!({"title": "stable"})).await;
        let url = detail_path(&t);
        for body in [json!({"title": ""}), json!({"completed": "maybe"}), json!({"title": "x".repeat(201)}), json!([])] {
            expect(alice.patch(&url).json(&body).send().await.unwrap(), 400).await;
            expect(alice.put(&url).json(&body).send().await.unwrap(), 400).await;
        }
        let r = alice.put(&url).header("content-type", "application/json").body("{oops").send().await.unwrap();
        expect(r, 400).await;
        assert_eq!(expect(alice.get(&url).send().await.unwrap(), 200).await, t);
    }

    async fn the_list_is_by_id_and_paged_with_total_and_links(app) {
        let (alice, bob) = (app.user("alice").await, app.user("bob").await);
        let mut all = Vec::new();
        for i in 0..5 {
            all.push(post_task(&alice, json!({"title": format!("t{i}")})).await);
        }
        // another user's tasks are neither listed nor counted
        post_task(&bob, json!({"title": "bob's"})).await;
        let r = alice.get("/api/tasks/").send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "5");
        assert!(r.headers().get("link").is_none());
        assert_eq!(expect(r, 200).await, json!(all));
        let r = alice.get("/api/tasks/?limit=2&offset=2").send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "5");
        let link = r.headers()["link"].to_str().unwrap().to_owned();
        assert!(link.contains("/api/tasks/?limit=2&offset=4>; rel=\"next\""), "{link}");
        assert!(link.contains("/api/tasks/?limit=2>; rel=\"prev\""), "{link}");
        assert_eq!(expect(r, 200).await, json!(all[2..4]));
        let r = alice.get("/api/tasks/?limit=2&offset=4").send().await.unwrap();
        assert!(!r.headers()["link"].to_str().unwrap().contains("next"));
        assert_eq!(expect(r, 200).await, json!(all[4..]));
        let r = alice.get("/api/tasks/?offset=10").send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "5");
        assert_eq!(expect(r, 200).await, json!([]));
    }

    async fn other_methods_are_405_and_bad_ids_404(app) {
        let alice = app.user("alice").await;
        let t = post_task(&alice, json!({"title": "x"})).await;
        let r = alice.post(&detail_path(&t)).json(&json!({})).send().await.unwrap();
        assert!(r.headers()["allow"].to_str().unwrap().contains("PUT"));
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"POST\" not allowed."}));
        let r = alice.delete("/api/tasks/").send().await.unwrap();
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"DELETE\" not allowed."}));
        assert_eq!(expect(alice.get("/api/tasks/abc/").send().await.unwrap(), 404).await, json!({"detail": "Not found."}));
        expect(app.anon().get(app.url("/api/tasks/abc/")).send().await.unwrap(), 404).await;
        assert_eq!(app.count("tasks").await, 1);
    }
}
