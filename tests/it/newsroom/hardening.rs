//! Attacks from the outside review (issue 9) on sign-in and accounts, replayed through the router:
//! raced attempt limits, leaked set-password links, a control character in `next`, and page
//! numbers that overflow a list's offset.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use broadsheet::auth::totp;
use broadsheet::domain::Role;
use chrono::Utc;

use super::{Browser, PASSWORD, encode, set_cookie};
use crate::helpers::{TestApp, attrs, line};

/// How many answers had each status.
fn tally(statuses: impl IntoIterator<Item = StatusCode>) -> BTreeMap<u16, usize> {
    let mut counts = BTreeMap::new();
    for status in statuses {
        *counts.entry(status.as_u16()).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_are_checked_no_more_often_than_the_limit() {
    let app = Arc::new(TestApp::spawn_empty().await);
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    // Sixty guesses at once, each from its own address so only the account's limit (5) applies.
    let guesses = (0..60u8).map(|i| {
        let app = Arc::clone(&app);
        let email = user.email.clone();
        tokio::spawn(async move { app.try_sign_in(&email, "a wrong password guess", [10, 40, 1, i]).await.status })
    });
    let mut statuses = Vec::new();
    for guess in guesses.collect::<Vec<_>>() {
        statuses.push(guess.await.expect("guess"));
    }
    let counts = tally(statuses);
    // 401 means the password was checked and refused; 429 means the limit refused it unchecked.
    let checked = counts.get(&401).copied().unwrap_or(0);
    assert!(checked <= 5, "{checked} of 60 parallel guesses were checked with a limit of 5: {counts:?}");
    assert_eq!(checked + counts.get(&429).copied().unwrap_or(0), 60, "{counts:?}");
    // The right password is refused too now: the account is locked for the window.
    assert_eq!(app.try_sign_in(&user.email, PASSWORD, [10, 40, 2, 1]).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_right_password_does_not_count_against_the_address() {
    let app = TestApp::spawn_with(|s| s.newsroom.login_failures_per_ip = 3, false).await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    // More right sign-ins than the address's limit: each attempt was counted, then taken back.
    for _ in 0..5 {
        assert_eq!(app.try_sign_in(&user.email, PASSWORD, [10, 41, 0, 1]).await.status, StatusCode::SEE_OTHER);
    }
    for _ in 0..3 {
        app.try_sign_in(&user.email, "a wrong password guess", [10, 41, 0, 1]).await;
    }
    assert_eq!(app.try_sign_in(&user.email, PASSWORD, [10, 41, 0, 1]).await.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_codes_are_checked_no_more_often_than_the_limit() {
    let app = Arc::new(TestApp::spawn_empty().await);
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let secret = b"twenty bytes secret!".to_vec();
    app.state.store.set_totp(user.id, Some((&secret, 0)), &[], &line("totp_enabled")).await.expect("two-step on");
    let response = app.try_sign_in(&user.email, PASSWORD, [10, 42, 0, 1]).await;
    let pending = set_cookie(&response, "bs_session").expect("cookie").split(';').next().expect("pair").to_owned();
    let form = app.admin_get_with(&pending, "/admin/login/totp").await;
    let csrf = attrs(&form.html(), "input[name=_csrf]", "value").pop().expect("token");
    // A code that is wrong now and in the steps around now.
    let now = Utc::now().timestamp();
    let near: Vec<String> = (-2..=2).map(|step| totp::code_at(&secret, now + step * 30)).collect();
    let wrong = (0..1_000_000).map(|n| format!("{n:06}")).find(|c| !near.contains(c)).expect("a wrong code");

    let guesses = (0..60).map(|_| {
        let app = Arc::clone(&app);
        let body = encode(&[("_csrf", &csrf), ("code", &wrong)]);
        let pending = pending.clone();
        tokio::spawn(async move { app.admin_post_raw(Some(&pending), "/admin/login/totp", body, &[]).await.status })
    });
    let mut statuses = Vec::new();
    for guess in guesses.collect::<Vec<_>>() {
        statuses.push(guess.await.expect("guess"));
    }
    let counts = tally(statuses);
    // 401: checked and refused. 429: refused unchecked (and the half-signed-in session ended), after
    // which the rest are sent back to sign in (303).
    let checked = counts.get(&401).copied().unwrap_or(0);
    assert!(checked <= 5, "{checked} of 60 parallel codes were checked with a limit of 5: {counts:?}");
    assert!(counts.get(&429).copied().unwrap_or(0) >= 1, "{counts:?}");
}

/// The path of the one-time link shown on an admin's users page.
fn link_path(page: &crate::helpers::TestResponse) -> String {
    let link = attrs(&page.html(), "input.copy-field", "value").pop().expect("one-time link");
    link.trim_start_matches("http://news.test").to_owned()
}

/// Opens a set-password link and posts `password` to it, as a browser does.
async fn use_link(app: &TestApp, path: &str, password: &str) -> StatusCode {
    let form = app.get(path).await;
    let login_cookie = set_cookie(&form, "bs_login").expect("cookie").split(';').next().expect("pair").to_owned();
    let csrf = attrs(&form.html(), "input[name=_csrf]", "value").pop().expect("token");
    let body = encode(&[("_csrf", &csrf), ("password", password), ("confirm", password)]);
    app.admin_post_raw(Some(&login_cookie), path, body, &[]).await.status
}

async fn admin_and_member(app: &TestApp) -> (Browser, broadsheet::domain::UserId) {
    let admin = app.add_user("admin@news.test", "Ada Admin", Role::Admin).await;
    let browser = app.sign_in(&admin).await;
    let member = app.add_user("nia@news.test", "Nia New", Role::Author).await;
    (browser, member.id)
}

#[tokio::test]
async fn a_newer_set_password_link_revokes_the_older_ones() {
    let app = TestApp::spawn_empty().await;
    let (admin, nia) = admin_and_member(&app).await;
    let first = link_path(&app.admin_post(&admin, &format!("/admin/users/{nia}"), &[("action", "reset")]).await);
    let second = link_path(&app.admin_post(&admin, &format!("/admin/users/{nia}"), &[("action", "reset")]).await);
    assert_ne!(first, second);
    assert_eq!(use_link(&app, &first, "a leaked link's password").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(use_link(&app, &second, "nia's own long password").await, StatusCode::SEE_OTHER);
    assert_eq!(
        app.try_sign_in("nia@news.test", "nia's own long password", [10, 43, 0, 1]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.try_sign_in("nia@news.test", "a leaked link's password", [10, 43, 0, 2]).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn using_a_link_revokes_every_other_link_of_the_account() {
    let app = TestApp::spawn_empty().await;
    let (admin, nia) = admin_and_member(&app).await;
    let first = link_path(&app.admin_post(&admin, &format!("/admin/users/{nia}"), &[("action", "reset")]).await);
    // A second link issued through the store, beside the admin page, as another node or the CLI
    // (`broadsheet user`) would.
    let token = broadsheet::auth::token::new_token().expect("token");
    let hash = broadsheet::auth::token::token_hash(&token);
    let now = app.state.clock.now();
    let expires = now + chrono::Duration::hours(1);
    app.state
        .store
        .insert_password_token(&hash, nia, expires, now, &line("password_link_created"))
        .await
        .expect("link");
    assert_eq!(
        use_link(&app, &format!("/admin/set-password/{token}"), "nia's own long password").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(use_link(&app, &first, "a leaked link's password").await, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn changing_the_password_revokes_unused_links() {
    let app = TestApp::spawn_empty().await;
    let (admin, nia) = admin_and_member(&app).await;
    let leaked = link_path(&app.admin_post(&admin, &format!("/admin/users/{nia}"), &[("action", "reset")]).await);
    let user = app.state.store.user_by_id(nia).await.expect("store").expect("nia");
    let browser = app.sign_in(&user).await;
    let new = "a much longer new password";
    let changed = app
        .admin_post(
            &browser,
            "/admin/account/password",
            &[("current_password", PASSWORD), ("new_password", new), ("confirm_password", new)],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(use_link(&app, &leaked, "a leaked link's password").await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.try_sign_in("nia@news.test", new, [10, 44, 0, 1]).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn setting_a_password_through_a_link_ends_every_session_of_the_account() {
    let app = TestApp::spawn_empty().await;
    let (admin, nia) = admin_and_member(&app).await;
    let user = app.state.store.user_by_id(nia).await.expect("store").expect("nia");
    let signed_in = app.sign_in(&user).await;
    let link = link_path(&app.admin_post(&admin, &format!("/admin/users/{nia}"), &[("action", "reset")]).await);
    assert_eq!(use_link(&app, &link, "nia's own long password").await, StatusCode::SEE_OTHER);
    assert_eq!(app.admin_get(&signed_in, "/admin").await.status, StatusCode::SEE_OTHER, "sent to sign in again");
    assert!(app.state.store.sessions_of(nia).await.expect("sessions").is_empty());
}

#[tokio::test]
async fn a_control_character_in_next_falls_back_to_the_dashboard() {
    let app = TestApp::spawn_empty().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    for next in
        ["/admin\n", "/admin\r\nSet-Cookie: x=y", "/admin\u{0}", "/admin/é", "//evil.example", "/\\evil.example"]
    {
        let form = app.get(&format!("/admin/login?next={}", broadsheet::web::percent_encode(next))).await;
        assert_eq!(form.status, StatusCode::OK, "{next:?}");
        let login_cookie = set_cookie(&form, "bs_login").expect("cookie").split(';').next().expect("pair").to_owned();
        let csrf = attrs(&form.html(), "input[name=_csrf]", "value").pop().expect("token");
        let body = encode(&[("_csrf", &csrf), ("email", &user.email), ("password", PASSWORD), ("next", next)]);
        let request = TestApp::request(Method::POST, "/admin/login", [10, 45, 0, 1].into())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, login_cookie)
            .body(Body::from(body))
            .expect("request");
        let response = app.send(request).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER, "{next:?}: {}", response.text());
        assert_eq!(response.header(header::LOCATION).as_deref(), Some("/admin"), "{next:?}");
    }
}

#[tokio::test]
async fn page_numbers_that_are_not_pages_get_a_400_on_admin_lists() {
    let app = TestApp::spawn().await;
    let admin = app.add_user("admin@news.test", "Ada Admin", Role::Admin).await;
    let browser = app.sign_in(&admin).await;
    for list in ["/admin", "/admin/comments", "/admin/audit"] {
        for page in ["9223372036854775807", "-9223372036854775808", "0", "1000001", "abc", "2.5"] {
            let response = app.admin_get(&browser, &format!("{list}?page={page}")).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{list}?page={page}: {}", response.text());
            assert!(response.text().contains("not a page number"), "{list}?page={page}: a page that says why");
        }
        // The last page we accept is an ordinary, empty, page.
        assert_eq!(app.admin_get(&browser, &format!("{list}?page=1000000")).await.status, StatusCode::OK, "{list}");
        assert_eq!(app.admin_get(&browser, &format!("{list}?page=2")).await.status, StatusCode::OK, "{list}");
    }
}

#[tokio::test]
async fn huge_page_numbers_on_reader_lists_never_fail_or_wrap() {
    let app = TestApp::spawn().await;
    let comments = format!("{}/comments", crate::helpers::REFERENCE_PATH);
    for list in ["/asia", "/corrections", comments.as_str()] {
        for page in ["9223372036854775807", "4294967296", "-1", "abc"] {
            let response = app.get(&format!("{list}?page={page}")).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{list}?page={page}");
        }
        // The largest number the lists take is simply a page past the end.
        assert_eq!(app.get(&format!("{list}?page=4294967295")).await.status, StatusCode::NOT_FOUND, "{list}");
    }
}
