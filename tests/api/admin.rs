//! `/admin/`: the server-rendered admin site, driven as a browser without JavaScript
//! drives it (cookies kept, redirects not followed, forms posted with their
//! `csrfmiddlewaretoken`).
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test loudly"
)]

mod access;
mod forms;
mod users;

use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore as _, Jar};

use crate::helpers::*;

/// A browser that keeps cookies and shows redirects instead of following them.
pub struct Session {
    pub client: Client,
    jar: Arc<Jar>,
    base: String,
}

impl Session {
    pub fn new(app: &TestApp) -> Self {
        let jar = Arc::new(Jar::default());
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            client,
            jar,
            base: app.base.clone(),
        }
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        let header = self.jar.cookies(&self.base.parse().unwrap())?;
        header
            .to_str()
            .unwrap()
            .split(';')
            .map(str::trim)
            .find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                (k == name).then(|| v.to_owned())
            })
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// The page's status and HTML.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.unwrap())
    }

    /// POSTs the form as a browser does, with the CSRF cookie's token in the form.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.cookie("csrftoken").unwrap_or_default();
        let mut all = vec![("csrfmiddlewaretoken", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all).await
    }

    /// POSTs exactly these fields (no CSRF token unless given).
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Status and HTML of a POST.
    pub async fn submit(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let r = self.post(path, fields).await;
        (r.status(), r.text().await.unwrap())
    }
}

pub fn location(r: &Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Logs in through `/admin/login/` and expects the redirect to `next`.
pub async fn admin_login(app: &TestApp, username: &str) -> Session {
    let session = Session::new(app);
    let (status, _) = session.page("/admin/login/").await;
    assert_eq!(status, 200);
    let r = session
        .post(
            "/admin/login/",
            &[
                ("username", username),
                ("password", PASSWORD),
                ("next", "/admin/"),
            ],
        )
        .await;
    assert_eq!(r.status(), 302, "{username} could not log in");
    assert_eq!(location(&r), "/admin/");
    session
}

/// The largest id in a table (the row just added).
pub async fn last_id(app: &TestApp, table: &'static str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    app.db
        .run(move |conn| {
            let row: Id = diesel::RunQueryDsl::get_result(
                diesel::sql_query(format!("SELECT MAX(id) AS id FROM {table}")),
                conn,
            )?;
            Ok(row.id)
        })
        .await
        .unwrap()
}

/// The HTML of the error list beside a form field.
pub fn field_errors<'a>(html: &'a str, field: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"error_{field}\""))
        .unwrap_or_else(|| panic!("no errors beside {field} in {html}"));
    let rest = &html[start..];
    &rest[..rest.find("</ul>").unwrap()]
}
