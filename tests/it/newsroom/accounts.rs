//! Sign-in, sessions, CSRF, rate limits, re-authentication, two-step sign-in and set-password links.

use axum::http::{StatusCode, header};
use broadsheet::auth::token::token_hash;
use broadsheet::auth::totp;
use broadsheet::domain::Role;
use chrono::{Duration, Utc};

use super::{Browser, PASSWORD, encode, set_cookie};
use crate::helpers::{TestApp, attrs, line, texts};

fn token_of(browser: &Browser) -> String {
    browser.cookie.split_once('=').expect("cookie pair").1.to_owned()
}

#[tokio::test]
async fn signing_in_sets_a_new_http_only_lax_cookie_each_time() {
    let app = TestApp::spawn_empty().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let first = app.try_sign_in(&user.email, PASSWORD, [10, 0, 0, 1]).await;
    let second = app.try_sign_in(&user.email, PASSWORD, [10, 0, 0, 1]).await;
    let (a, b) =
        (set_cookie(&first, "bs_session").expect("cookie"), set_cookie(&second, "bs_session").expect("cookie"));
    assert!(a.contains("HttpOnly") && a.contains("SameSite=Lax"), "{a}");
    assert!(!a.contains("Secure"), "plain-http test site: no Secure flag");
    assert_ne!(a.split(';').next(), b.split(';').next(), "every sign-in gets a fresh token");
    let token = a.split(';').next().and_then(|p| p.split_once('=')).map(|p| p.1.to_owned()).expect("token");
    assert!(token.len() >= 43, "at least 256 bits, base64url: {token}");

    let https = TestApp::spawn_with(|s| s.site.base_url = Some("https://news.test".into()), false).await;
    let user = https.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let response = https.try_sign_in(&user.email, PASSWORD, [10, 0, 0, 1]).await;
    assert!(set_cookie(&response, "bs_session").expect("cookie").contains("; Secure"));
}

#[tokio::test]
async fn unknown_accounts_and_wrong_passwords_get_the_same_answer() {
    let app = TestApp::spawn_empty().await;
    app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let wrong = app.try_sign_in("ed@news.test", "not the password at all", [10, 0, 0, 2]).await;
    let unknown = app.try_sign_in("nobody@news.test", "not the password at all", [10, 0, 0, 3]).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(texts(&wrong.html(), ".error"), texts(&unknown.html(), ".error"));
    assert!(set_cookie(&wrong, "bs_session").is_none());
}

#[tokio::test]
async fn repeated_failures_lock_the_account_and_the_address_for_a_while() {
    let app = TestApp::spawn_empty().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    for i in 0..5u8 {
        let response = app.try_sign_in(&user.email, "wrong password here", [10, 1, 0, i]).await;
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused now, from any address, with a hint when to retry.
    let locked = app.try_sign_in(&user.email, PASSWORD, [10, 2, 0, 1]).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.header(header::RETRY_AFTER).as_deref(), Some("900"));
    // An unknown account is limited the same way, so the answer does not reveal which exist.
    for _ in 0..5 {
        app.try_sign_in("ghost@news.test", "whatever it may be", [10, 3, 0, 1]).await;
    }
    assert_eq!(app.try_sign_in("ghost@news.test", "x", [10, 3, 0, 2]).await.status, StatusCode::TOO_MANY_REQUESTS);

    // One address trying many accounts is stopped too.
    let other = app.add_user("au@news.test", "Arthur Author", Role::Author).await;
    for i in 0..20 {
        app.try_sign_in(&format!("guess{i}@news.test"), "password guess", [10, 9, 9, 9]).await;
    }
    assert_eq!(app.try_sign_in(&other.email, PASSWORD, [10, 9, 9, 9]).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.try_sign_in(&other.email, PASSWORD, [10, 9, 9, 8]).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = TestApp::spawn_empty().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let browser = app.sign_in(&user).await;
    assert_eq!(app.admin_get(&browser, "/admin").await.status, StatusCode::OK);
    let response = app.admin_post(&browser, "/admin/logout", &[]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(set_cookie(&response, "bs_session").expect("cookie cleared").contains("Max-Age=0"));
    let after = app.admin_get(&browser, "/admin").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
    assert!(after.header(header::LOCATION).expect("redirect").starts_with("/admin/login"));
}

#[tokio::test]
async fn a_member_sees_their_sessions_and_can_end_another_one() {
    let app = TestApp::spawn_empty().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let laptop = app.sign_in(&user).await;
    let phone = app.sign_in(&user).await;
    let page = app.admin_get(&laptop, "/admin/account").await;
    let listed = attrs(&page.html(), "input[name=session]", "value");
    assert_eq!(listed.len(), 2);
    let phone_hash = token_hash(&token_of(&phone));
    assert!(listed.contains(&phone_hash));
    let response = app.admin_post(&laptop, "/admin/account/sessions/revoke", &[("session", &phone_hash)]).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert_eq!(app.admin_get(&phone, "/admin").await.status, StatusCode::SEE_OTHER, "the phone is signed out");
    assert_eq!(app.admin_get(&laptop, "/admin").await.status, StatusCode::OK, "the laptop is not");
}

#[tokio::test]
async fn idle_and_old_sessions_expire() {
    let app = TestApp::spawn_empty().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let idle = app.sign_in(&user).await;
    let hash = token_hash(&token_of(&idle));
    app.state.store.touch_session(&hash, Utc::now() - Duration::minutes(31)).await.expect("touch");
    let response = app.admin_get(&idle, "/admin").await;
    assert_eq!(response.status, StatusCode::SEE_OTHER);
    assert!(response.header(header::LOCATION).expect("redirect").contains("expired=1"));
    assert!(app.state.store.session(&hash).await.expect("store").is_none(), "the expired session is deleted");

    let old = app.sign_in(&user).await;
    let hash = token_hash(&token_of(&old));
    let mut record = app.state.store.session(&hash).await.expect("store").expect("session");
    app.state.store.delete_session(&hash).await.expect("delete");
    record.created_at = Utc::now() - Duration::hours(12) - Duration::minutes(1);
    app.state.store.insert_session(&record, &line("signed_in")).await.expect("insert");
    assert_eq!(app.admin_get(&old, "/admin").await.status, StatusCode::SEE_OTHER, "12 hours is the most");

    let fresh = app.sign_in(&user).await;
    assert_eq!(app.admin_get(&fresh, "/admin").await.status, StatusCode::OK);
}

#[tokio::test]
async fn state_changes_without_the_form_token_are_refused() {
    let app = TestApp::spawn().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let browser = app.sign_in(&user).await;
    let section = app.first_section().await.to_string();
    let fields = [("headline", "Forged headline for a cross-site request"), ("section", section.as_str())];

    let missing = app.admin_post_raw(Some(&browser.cookie), "/admin/articles", encode(&fields), &[]).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let mut forged = vec![("_csrf", "0000000000000000000000000000000000000000000")];
    forged.extend_from_slice(&fields);
    let wrong = app.admin_post_raw(Some(&browser.cookie), "/admin/articles", encode(&forged), &[]).await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    let mut good = vec![("_csrf", browser.csrf.as_str())];
    good.extend_from_slice(&fields);
    let cross_site = app
        .admin_post_raw(
            Some(&browser.cookie),
            "/admin/articles",
            encode(&good),
            &[("origin", "https://evil.test"), ("host", "news.test")],
        )
        .await;
    assert_eq!(cross_site.status, StatusCode::FORBIDDEN);
    assert!(texts(&cross_site.html(), "h1").concat().contains("expired"));
    assert_eq!(
        app.state
            .store
            .newsroom_articles(broadsheet::store::newsroom::NewsroomQuery { limit: 1000, ..Default::default() })
            .await
            .expect("list")
            .iter()
            .filter(|a| a.headline.starts_with("Forged"))
            .count(),
        0,
        "nothing was written"
    );

    let honest = app
        .admin_post_raw(
            Some(&browser.cookie),
            "/admin/articles",
            encode(&good),
            &[("origin", "http://news.test"), ("host", "news.test")],
        )
        .await;
    assert_eq!(honest.status, StatusCode::SEE_OTHER, "{}", honest.text());

    // The sign-in form has its own token too: a login posted from elsewhere is refused.
    let body = encode(&[("email", "ed@news.test"), ("password", PASSWORD)]);
    assert_eq!(app.admin_post_raw(None, "/admin/login", body, &[]).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn changing_the_password_asks_for_the_current_one_and_ends_other_sessions() {
    let app = TestApp::spawn_empty().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let here = app.sign_in(&user).await;
    let elsewhere = app.sign_in(&user).await;
    let new = "a much longer new password";
    let refused = app
        .admin_post(
            &here,
            "/admin/account/password",
            &[("current_password", "wrong guess"), ("new_password", new), ("confirm_password", new)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.try_sign_in(&user.email, PASSWORD, [10, 5, 0, 1]).await.status, StatusCode::SEE_OTHER, "unchanged");

    let changed = app
        .admin_post(
            &here,
            "/admin/account/password",
            &[("current_password", PASSWORD), ("new_password", new), ("confirm_password", new)],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(app.admin_get(&elsewhere, "/admin").await.status, StatusCode::SEE_OTHER, "other sessions end");
    assert_eq!(app.admin_get(&here, "/admin").await.status, StatusCode::OK, "this one goes on");
    assert_eq!(app.try_sign_in(&user.email, new, [10, 5, 0, 2]).await.status, StatusCode::SEE_OTHER);

    let email = app
        .admin_post(&here, "/admin/account/email", &[("current_password", PASSWORD), ("email", "edna@news.test")])
        .await;
    assert_eq!(email.status, StatusCode::UNPROCESSABLE_ENTITY, "the old password no longer re-authenticates");
}

#[tokio::test]
async fn two_step_sign_in_needs_a_fresh_code_or_a_recovery_code() {
    let app = TestApp::spawn_empty().await;
    let user = app.add_user("ed@news.test", "Edna Editor", Role::Editor).await;
    let browser = app.sign_in(&user).await;
    let setup = app.admin_post(&browser, "/admin/account/totp", &[("action", "start")]).await;
    let secret_text = attrs(&setup.html(), "input[name=secret]", "value").pop().expect("setup key");
    let secret = data_encoding::BASE32_NOPAD.decode(secret_text.as_bytes()).expect("base32");
    let bad = app
        .admin_post(
            &browser,
            "/admin/account/totp",
            &[("action", "confirm"), ("secret", &secret_text), ("code", "000000")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let now = Utc::now().timestamp();
    let code = totp::code_at(&secret, now);
    let on = app
        .admin_post(
            &browser,
            "/admin/account/totp",
            &[("action", "confirm"), ("secret", &secret_text), ("code", &code)],
        )
        .await;
    assert_eq!(on.status, StatusCode::OK);
    let recovery = texts(&on.html(), ".codes code");
    assert_eq!(recovery.len(), 10);

    // The password alone now opens only the second step.
    let response = app.try_sign_in(&user.email, PASSWORD, [10, 6, 0, 1]).await;
    let pending = set_cookie(&response, "bs_session").expect("cookie").split(';').next().expect("pair").to_owned();
    assert!(response.header(header::LOCATION).expect("redirect").starts_with("/admin/login/totp"));
    let blocked = app.admin_get_with(&pending, "/admin").await;
    assert_eq!(blocked.header(header::LOCATION).as_deref(), Some("/admin/login/totp"));
    let form = app.admin_get_with(&pending, "/admin/login/totp").await;
    let csrf = attrs(&form.html(), "input[name=_csrf]", "value").pop().expect("token");
    // The code that turned two-step on cannot be used again.
    let replay = app
        .admin_post_raw(Some(&pending), "/admin/login/totp", encode(&[("_csrf", &csrf), ("code", &code)]), &[])
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    let with_recovery = app
        .admin_post_raw(Some(&pending), "/admin/login/totp", encode(&[("_csrf", &csrf), ("code", &recovery[0])]), &[])
        .await;
    assert_eq!(with_recovery.status, StatusCode::SEE_OTHER);
    assert_eq!(app.admin_get_with(&pending, "/admin").await.status, StatusCode::OK);

    // A used recovery code is spent.
    let response = app.try_sign_in(&user.email, PASSWORD, [10, 6, 0, 2]).await;
    let pending = set_cookie(&response, "bs_session").expect("cookie").split(';').next().expect("pair").to_owned();
    let form = app.admin_get_with(&pending, "/admin/login/totp").await;
    let csrf = attrs(&form.html(), "input[name=_csrf]", "value").pop().expect("token");
    let again = app
        .admin_post_raw(Some(&pending), "/admin/login/totp", encode(&[("_csrf", &csrf), ("code", &recovery[0])]), &[])
        .await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_set_password_link_works_once_and_disabled_accounts_cannot_sign_in() {
    let app = TestApp::spawn_empty().await;
    let admin = app.add_user("admin@news.test", "Ada Admin", Role::Admin).await;
    let browser = app.sign_in(&admin).await;
    let added = app
        .admin_post(&browser, "/admin/users", &[("email", "new@news.test"), ("name", "Nia New"), ("role", "author")])
        .await;
    assert_eq!(added.status, StatusCode::OK);
    let link = attrs(&added.html(), "input.copy-field", "value").pop().expect("one-time link");
    let path = link.trim_start_matches("http://news.test");
    let form = app.get(path).await;
    let login_cookie = set_cookie(&form, "bs_login").expect("cookie").split(';').next().expect("pair").to_owned();
    let csrf = attrs(&form.html(), "input[name=_csrf]", "value").pop().expect("token");
    let new = "nia's own long password";
    let body = encode(&[("_csrf", &csrf), ("password", new), ("confirm", new)]);
    let set = app.admin_post_raw(Some(&login_cookie), path, body.clone(), &[]).await;
    assert_eq!(set.status, StatusCode::SEE_OTHER);
    let reused = app.admin_post_raw(Some(&login_cookie), path, body, &[]).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY, "the link works once");
    assert_eq!(app.try_sign_in("new@news.test", new, [10, 7, 0, 1]).await.status, StatusCode::SEE_OTHER);

    let nia = app.state.store.credentials_by_email("new@news.test").await.expect("store").expect("account").user;
    let disabled = app.admin_post(&browser, &format!("/admin/users/{}", nia.id), &[("action", "disable")]).await;
    assert_eq!(disabled.status, StatusCode::SEE_OTHER);
    assert_eq!(app.try_sign_in("new@news.test", new, [10, 7, 0, 2]).await.status, StatusCode::UNAUTHORIZED);
    let audit = app.admin_get(&browser, "/admin/audit").await;
    let actions = texts(&audit.html(), "table.list td:nth-child(3)");
    assert!(actions.iter().any(|a| a == "user disabled"), "{actions:?}");
    assert!(actions.iter().any(|a| a == "user added"), "{actions:?}");
}
