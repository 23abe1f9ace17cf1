//! `/api/blogposts/`: public reads, author-or-staff writes, DRF validation.

use crate::helpers::*;

const NO_PERMISSION: &str = "You do not have permission to perform this action.";
const NOT_FOUND: &str = "No BlogPost matches the given query.";

async fn new_post(author: &Actor, title: &str) -> Value {
    expect(
        author
            .post("/api/blogposts/")
            .json(&json!({"title": title, "content": "body"}))
            .send()
            .await
            .expect("post sent"),
        201,
    )
    .await
}

both_backends! {
    async fn posts_written_together_each_answer_their_own_author_and_text(app) {
        // on PostgreSQL these go out as multi-row inserts; each answer must be its own row
        let mut actors = Vec::new();
        for n in 0..4 {
            actors.push(app.user(&format!("writer{n}")).await);
        }
        let posts = actors.iter().flat_map(|actor| (0..8).map(move |k| async move {
            let (title, content) = (format!("{} {k}", actor.username), format!("by {} #{k}", actor.username));
            let r = actor.post("/api/blogposts/").json(&json!({"title": title, "content": content})).send().await.unwrap();
            (actor, title, content, expect(r, 201).await)
        }));
        let answers = futures::future::join_all(posts).await;
        let mut ids = std::collections::HashSet::new();
        for (actor, title, content, p) in &answers {
            assert_eq!((p["title"].as_str(), p["content"].as_str()), (Some(title.as_str()), Some(content.as_str())), "{p}");
            assert_eq!(p["author"], actor.username.as_str(), "{p}");
            assert!(ids.insert(p["id"].as_i64().unwrap()), "an id answered twice: {p}");
            let stored = expect(app.anon().get(app.url(&format!("/api/blogposts/{}/", p["id"]))).send().await.unwrap(), 200).await;
            assert_eq!(&stored, p);
        }
        assert_eq!(app.count("blog_posts").await, 32);
    }

    async fn anyone_reads_posts_and_the_author_is_the_callers_username(app) {
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let body = json!({"title": " Hello ", "content": "World", "author": bob.username, "id": 999, "created_at": "x"});
        let post = expect(alice.post("/api/blogposts/").json(&body).send().await.unwrap(), 201).await;
        assert_eq!(post["title"], "Hello");
        assert_eq!(post["author"], alice.username.as_str());
        assert_ne!(post["id"], 999);
        assert!(post["created_at"].as_str().unwrap().ends_with('Z'));
        assert_eq!(post["created_at"], post["updated_at"]);
        let keys: Vec<&str> = post.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys.len(), 6, "{keys:?}");

        let anon = app.anon();
        let listed = expect(anon.get(app.url("/api/blogposts/")).send().await.unwrap(), 200).await;
        assert_eq!(listed, json!([post.clone()]));
        let url = app.url(&format!("/api/blogposts/{}/", post["id"]));
        assert_eq!(expect(anon.get(&url).send().await.unwrap(), 200).await, post);
    }

    async fn anonymous_writes_are_401(app) {
        let alice = app.user("alice").await;
        let post = new_post(&alice, "mine").await;
        let anon = app.anon();
        let url = app.url(&format!("/api/blogposts/{}/", post["id"]));
        let body = json!({"title": "t", "content": "c"});
        for r in [
            anon.post(app.url("/api/blogposts/")).json(&body).send().await.unwrap(),
            anon.put(&url).json(&body).send().await.unwrap(),
            anon.patch(&url).json(&body).send().await.unwrap(),
            anon.delete(&url).send().await.unwrap(),
            // the permission comes before the method and the body, as in DRF
            anon.post(&url).json(&body).send().await.unwrap(),
            anon.post(app.url("/api/blogposts/")).header("content-type", "application/json").body("{bad").send().await.unwrap(),
        ] {
            assert_401(r).await;
        }
        assert_eq!(app.count("blog_posts").await, 1);
    }

    async fn the_author_puts_patches_and_deletes(app) {
        let alice = app.user("alice").await;
        let post = new_post(&alice, "v1").await;
        let path = format!("/api/blogposts/{}/", post["id"]);
        let put = expect(alice.put(&path).json(&json!({"title": "v2", "content": "c2"})).send().await.unwrap(), 200).await;
        assert_eq!((&put["title"], &put["content"], &put["author"]), (&json!("v2"), &json!("c2"), &json!(alice.username)));
        assert_eq!(put["created_at"], post["created_at"]);
        // PUT needs every field; PATCH does not
        let r = alice.put(&path).json(&json!({"title": "v3"})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"content": ["This field is required."]}));
        let patched = expect(alice.patch(&path).json(&json!({"content": "c3"})).send().await.unwrap(), 200).await;
        assert_eq!((&patched["title"], &patched["content"]), (&json!("v2"), &json!("c3")));
        expect(alice.delete(&path).send().await.unwrap(), 204).await;
        assert_eq!(expect(alice.get(&path).send().await.unwrap(), 404).await, json!({"detail": NOT_FOUND}));
        assert_eq!(expect(alice.delete(&path).send().await.unwrap(), 404).await, json!({"detail": NOT_FOUND}));
    }

    async fn another_user_is_403_and_staff_may_edit(app) {
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let admin = app.staff("admin").await;
        let post = new_post(&alice, "guarded").await;
        let path = format!("/api/blogposts/{}/", post["id"]);
        for r in [
            bob.put(&path).json(&json!({"title": "x", "content": "y"})).send().await.unwrap(),
            bob.patch(&path).json(&json!({"title": "x"})).send().await.unwrap(),
            bob.delete(&path).send().await.unwrap(),
            // a stranger's malformed body is still refused for who they are
            bob.put(&path).header("content-type", "application/json").body("{bad").send().await.unwrap(),
        ] {
            assert_eq!(expect(r, 403).await, json!({"detail": NO_PERMISSION}));
        }
        let after = expect(bob.get(&path).send().await.unwrap(), 200).await;
        assert_eq!(after, post);
        let edited = expect(admin.patch(&path).json(&json!({"title": "by staff"})).send().await.unwrap(), 200).await;
        assert_eq!((&edited["title"], &edited["author"]), (&json!("by staff"), &json!(alice.username)));
        expect(admin.delete(&path).send().await.unwrap(), 204).await;
        assert_eq!(app.count("blog_posts").await, 0);
    }

    async fn bad_input_is_400_and_writes_nothing(app) {
        let alice = app.user("alice").await;
        let r = alice.post("/api/blogposts/").json(&json!({})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"title": ["This field is required."], "content": ["This field is required."]}));
        let r = alice.post("/api/blogposts/").json(&json!({"title": "x".repeat(101), "content": "  "})).send().await.unwrap();
        assert_eq!(
            expect(r, 400).await,
            json!({"title": ["Ensure this field has no more than 100 characters."], "content": ["This field may not be blank."]})
        );
        let r = alice.post("/api/blogposts/").json(&json!({"title": null, "content": ["c"]})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"title": ["This field may not be null."], "content": ["Not a valid string."]}));
        let r = alice.post("/api/blogposts/").json(&json!(["a list"])).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}));
        let r = alice.post("/api/blogposts/").header("content-type", "application/json").body("{\"title\": \"x\",").send().await.unwrap();
        assert!(expect(r, 400).await["detail"].as_str().unwrap().starts_with("JSON parse error - "));
        assert_eq!(app.count("blog_posts").await, 0);

        let post = new_post(&alice, &"x".repeat(100)).await;
        let path = format!("/api/blogposts/{}/", post["id"]);
        let r = alice.patch(&path).json(&json!({"title": ""})).send().await.unwrap();
        assert_eq!(expect(r, 400).await, json!({"title": ["This field may not be blank."]}));
        assert_eq!(expect(alice.get(&path).send().await.unwrap(), 200).await, post);
    }

    async fn unknown_and_malformed_ids_are_404(app) {
        let anon = app.anon();
        let r = anon.get(app.url("/api/blogposts/999999/")).send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": NOT_FOUND}));
        let r = anon.get(app.url("/api/blogposts/abc/")).send().await.unwrap();
        assert_eq!(r.status(), 404);
        let alice = app.user("alice").await;
        let r = alice.put("/api/blogposts/999999/").header("content-type", "application/json").body("{bad").send().await.unwrap();
        assert_eq!(expect(r, 404).await, json!({"detail": NOT_FOUND}));
    }

    async fn a_wrong_method_is_405_for_a_logged_in_caller(app) {
        let alice = app.user("alice").await;
        let post = new_post(&alice, "p").await;
        let r = alice.post(&format!("/api/blogposts/{}/", post["id"])).json(&json!({})).send().await.unwrap();
        assert!(r.headers().contains_key("allow"));
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"POST\" not allowed."}));
        let r = alice.delete("/api/blogposts/").send().await.unwrap();
        assert_eq!(expect(r, 405).await, json!({"detail": "Method \"DELETE\" not allowed."}));
    }

    async fn lists_are_paged_by_id_with_total_and_links(app) {
        let alice = app.user("alice").await;
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(new_post(&alice, &format!("post {i}")).await["id"].clone());
        }
        let r = app.anon().get(app.url("/api/blogposts/?limit=2&offset=2")).send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "5");
        let link = r.headers()["link"].to_str().unwrap().to_owned();
        assert!(link.contains("limit=2&offset=4>; rel=\"next\""), "{link}");
        assert!(link.contains("rel=\"prev\""), "{link}");
        let page = expect(r, 200).await;
        let got: Vec<Value> = page.as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
        assert_eq!(got, ids[2..4]);
        let r = app.anon().get(app.url("/api/blogposts/?offset=9")).send().await.unwrap();
        assert_eq!(r.headers()["x-total-count"], "5");
        assert_eq!(expect(r, 200).await, json!([]));
        let r = app.anon().get(app.url("/api/blogposts/")).send().await.unwrap();
        assert!(!r.headers().contains_key("link"));
        let all: Vec<Value> = expect(r, 200).await.as_array().unwrap().iter().map(|p| p["id"].clone()).collect();
        assert_eq!(all, ids);
    }

    async fn form_bodies_are_accepted(app) {
        let alice = app.user("alice").await;
        let r = alice.post("/api/blogposts/").form(&[("title", "from a form"), ("content", "text")]).send().await.unwrap();
        assert_eq!(expect(r, 201).await["title"], "from a form");
    }
}
