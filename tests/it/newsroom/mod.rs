//! The newsroom CMS through the router: sign-in, sessions and CSRF, the role matrix, the editorial
//! workflow and scheduler, revisions, media uploads, curation, moderation, settings and the audit log.

mod accounts;
mod addresses;
mod curation;
mod hardening;
mod lost_updates;
mod media;
mod roles;
mod workflow;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use broadsheet::domain::{ArticleId, ArticleStatus, Role, User};
use broadsheet::store::newsroom::{ArticleFields, NewUser, Transition};
use broadsheet::web::percent_encode;
use chrono::Utc;

use crate::helpers::{TestApp, TestResponse, attrs, line};

pub const PASSWORD: &str = "correct horse battery staple";

/// A signed-in browser: its session cookie and the form token of its session.
#[derive(Clone)]
pub struct Browser {
    pub cookie: String,
    pub csrf: String,
}

/// `name=value` of a `Set-Cookie` header for `name`, if the response sets it.
pub fn set_cookie(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

pub fn encode(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v))).collect::<Vec<_>>().join("&")
}

impl TestApp {
    pub async fn add_user(&self, email: &str, name: &str, role: Role) -> User {
        let hash = broadsheet::auth::password::hash_password(PASSWORD).expect("hash");
        self.state
            .store
            .insert_user(
                NewUser {
                    email: email.into(),
                    name: name.into(),
                    role,
                    password_hash: Some(hash),
                    created_at: Utc::now(),
                },
                &line("user_added"),
            )
            .await
            .expect("user")
    }

    /// Posts the sign-in form the way a browser does: fetch the form (and its cookie) first.
    pub async fn try_sign_in(&self, email: &str, password: &str, ip: [u8; 4]) -> TestResponse {
        let form = self.get("/admin/login").await;
        let login_cookie = cookie_pair(&set_cookie(&form, "bs_login").expect("login form sets its cookie"));
        let token = attrs(&form.html(), "input[name=_csrf]", "value").pop().expect("form token");
        let body = encode(&[("_csrf", &token), ("email", email), ("password", password), ("next", "/admin")]);
        let request = TestApp::request(Method::POST, "/admin/login", ip.into())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, login_cookie)
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }

    pub async fn sign_in(&self, user: &User) -> Browser {
        let response = self.try_sign_in(&user.email, PASSWORD, [10, 0, 0, 1]).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
        let cookie = cookie_pair(&set_cookie(&response, "bs_session").expect("session cookie"));
        let page = self.admin_get_with(&cookie, "/admin").await;
        let csrf = attrs(&page.html(), "input[name=_csrf]", "value").pop().expect("pages carry the form token");
        Browser { cookie, csrf }
    }

    pub async fn admin_get_with(&self, cookie: &str, path: &str) -> TestResponse {
        let request = TestApp::request(Method::GET, path, [10, 0, 0, 1].into())
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    pub async fn admin_get(&self, browser: &Browser, path: &str) -> TestResponse {
        self.admin_get_with(&browser.cookie, path).await
    }

    /// Posts a form with the session's token added.
    pub async fn admin_post(&self, browser: &Browser, path: &str, fields: &[(&str, &str)]) -> TestResponse {
        let mut all = vec![("_csrf", browser.csrf.as_str())];
        all.extend_from_slice(fields);
        self.admin_post_raw(Some(&browser.cookie), path, encode(&all), &[]).await
    }

    /// Posts a form as a browser does from the page it is on: with the version that page's form
    /// (the one whose action is `action`) carries.
    pub async fn admin_post_from(
        &self,
        browser: &Browser,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let doc = self.admin_get(browser, page).await.html();
        let version = attrs(&doc, &format!("form[action='{action}'] input[name=version]"), "value")
            .pop()
            .expect("the form carries the version it is based on");
        let mut all = fields.to_vec();
        all.push(("version", &version));
        self.admin_post(browser, action, &all).await
    }

    pub async fn admin_post_raw(
        &self,
        cookie: Option<&str>,
        path: &str,
        body: String,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut request = TestApp::request(Method::POST, path, [10, 0, 0, 1].into())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        self.send(request.body(Body::from(body)).expect("request")).await
    }

    pub async fn first_section(&self) -> broadsheet::domain::SectionId {
        self.state.store.sections().await.expect("sections").first().expect("demo sections").id
    }

    /// A draft with `user` on the byline, made directly in the store.
    pub async fn draft_by(&self, user: &User, slug: &str) -> ArticleId {
        let fields = ArticleFields {
            section_id: self.first_section().await,
            slug: slug.into(),
            headline: format!("The {slug} story about harbour cranes"),
            dek: "A dek long enough to describe the story for readers and for search engines alike.".into(),
            body_markdown: format!("Body of {slug}."),
            author_ids: vec![user.author_id],
            tags: vec!["Ports".into()],
            image: None,
            seo_title: String::new(),
            seo_description: String::new(),
        };
        let html = broadsheet::markdown::render(&fields.body_markdown);
        self.state
            .store
            .create_article(&fields, &html, Some(user.id), Utc::now(), &line("article_created"))
            .await
            .expect("draft")
    }

    pub async fn set_status(&self, id: ArticleId, to: ArticleStatus) {
        let all = [
            ArticleStatus::Draft,
            ArticleStatus::InReview,
            ArticleStatus::Scheduled,
            ArticleStatus::Published,
            ArticleStatus::Unpublished,
        ];
        let moved = self
            .state
            .store
            .transition(
                id,
                Transition { from: &all, to, publish_at: None, user_id: None, at: Utc::now() },
                &line("article_step"),
            )
            .await
            .expect("transition");
        assert!(moved);
        self.state.lists_changed();
    }

    pub async fn status_of(&self, id: ArticleId) -> ArticleStatus {
        self.state.store.editable_article(id).await.expect("store").expect("article").status
    }
}

/// The editor form for `fields`, as the browser sends it, based on `version` of the article.
pub fn editor_form(fields: &ArticleFields, version: i64) -> Vec<(String, String)> {
    let mut form = vec![
        ("version".to_owned(), version.to_string()),
        ("headline".to_owned(), fields.headline.clone()),
        ("dek".to_owned(), fields.dek.clone()),
        ("slug".to_owned(), fields.slug.clone()),
        ("section".to_owned(), fields.section_id.to_string()),
        ("tags".to_owned(), fields.tags.join(", ")),
        ("body".to_owned(), fields.body_markdown.clone()),
        ("seo_title".to_owned(), fields.seo_title.clone()),
        ("seo_description".to_owned(), fields.seo_description.clone()),
    ];
    for id in &fields.author_ids {
        form.push(("author".to_owned(), id.to_string()));
    }
    match &fields.image {
        Some(image) => {
            form.push(("image".to_owned(), image.media_id.to_string()));
            form.push(("image_alt".to_owned(), image.alt.clone()));
            form.push(("image_caption".to_owned(), image.caption.clone()));
            form.push(("image_credit".to_owned(), image.credit.clone()));
        }
        None => form.push(("image".to_owned(), String::new())),
    }
    form
}

pub fn as_refs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

pub async fn fields_of(app: &TestApp, id: ArticleId) -> ArticleFields {
    app.state.store.editable_article(id).await.expect("store").expect("article").fields
}

/// The version the article is at now, as the editor would show it.
pub async fn version_of(app: &TestApp, id: ArticleId) -> i64 {
    app.state.store.editable_article(id).await.expect("store").expect("article").version
}
