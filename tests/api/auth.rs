use crate::helpers::*;

both_backends! {
    async fn anonymous_me_is_401(app) {
        let r = app.anon().get(app.url("/api/auth/me/")).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }
}
