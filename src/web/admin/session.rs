//! Who is signed in to the newsroom, and proof that a form came from our own pages.
//!
//! Sessions are server-side: the cookie carries a random 256-bit token, the store keeps only its
//! hash. A session ends after `session_idle_minutes` without use or `session_absolute_hours` after
//! sign-in, whichever comes first. Every state-changing request must carry the session's CSRF token
//! (a hidden form field or the `X-CSRF-Token` header), and requests that a browser marks as coming
//! from another site are refused before that.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use chrono::Duration;

use super::AdminError;
use crate::auth::token::token_hash;
use crate::domain::User;
use crate::store::newsroom::SessionRecord;
use crate::web::AppState;

pub const SESSION_COOKIE: &str = "bs_session";
/// Double-submit token for the sign-in form, which has no session yet.
pub const LOGIN_COOKIE: &str = "bs_login";
/// How often a session's last-seen time is written: often enough for the idle timeout, rarely
/// enough that browsing the CMS is not a stream of writes.
const TOUCH_EVERY_SECS: i64 = 60;

/// A cookie's value from the request headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// A `Set-Cookie` value for a cookie only our server reads.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.settings.secure_cookies() { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Compares secrets without leaking where they differ through timing.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A signed-in newsroom member and their session.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub session: SessionRecord,
}

impl Member {
    pub fn csrf(&self) -> &str {
        &self.session.csrf_token
    }
}

fn requested_path(parts: &Parts) -> String {
    if parts.method == Method::GET {
        parts.uri.path_and_query().map_or_else(|| "/admin".to_owned(), |p| p.as_str().to_owned())
    } else {
        "/admin".to_owned()
    }
}

impl FromRequestParts<AppState> for Member {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(member) = parts.extensions.get::<Member>() {
            return Ok(member.clone());
        }
        let next = requested_path(parts);
        let sign_in = |expired: bool| AdminError::SignInRequired { next: next.clone(), expired };
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(sign_in(false));
        };
        let hash = token_hash(&token);
        let Some(session) = state.store.session(&hash).await? else {
            return Err(sign_in(true));
        };
        let now = state.clock.now();
        let limits = &state.settings.newsroom;
        let idle = now - session.last_seen_at > Duration::minutes(limits.session_idle_minutes);
        let too_old = now - session.created_at > Duration::hours(limits.session_absolute_hours);
        if idle || too_old {
            state.store.delete_session(&hash).await?;
            return Err(sign_in(true));
        }
        if session.pending_totp {
            return Err(AdminError::SecondFactorRequired);
        }
        let user = match state.store.user_by_id(session.user_id).await? {
            Some(user) if !user.disabled => user,
            _ => {
                state.store.delete_session(&hash).await?;
                return Err(sign_in(false));
            }
        };
        if (now - session.last_seen_at).num_seconds() >= TOUCH_EVERY_SECS {
            state.store.touch_session(&hash, now).await?;
        }
        let member = Member { user, session };
        parts.extensions.insert(member.clone());
        Ok(member)
    }
}

/// Refuses requests a browser says came from another site (`Sec-Fetch-Site`, or an `Origin` whose
/// host is not ours). Older browsers send neither; the CSRF token still protects them.
pub fn check_origin(headers: &HeaderMap) -> Result<(), AdminError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && !matches!(site, "same-origin" | "none")
    {
        return Err(AdminError::CsrfFailed);
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin == "null" || origin_host != host {
            return Err(AdminError::CsrfFailed);
        }
    }
    Ok(())
}

/// A url-encoded form, field by field, repeated fields kept in order.
#[derive(Debug, Clone, Default)]
pub struct FormData(Vec<(String, String)>);

impl FormData {
    pub fn parse(body: &[u8]) -> Result<Self, AdminError> {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
            .map(Self)
            .map_err(|_| AdminError::BadRequest("The form could not be read.".into()))
    }

    /// The field's value, trimmed of nothing; empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(key, _)| key == name).map(|(_, value)| value.as_str()).collect()
    }

    pub fn flag(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
    }
}

/// A state-changing request from a signed-in member, with its CSRF token checked.
pub struct Submitted {
    pub member: Member,
    pub form: FormData,
}

impl FromRequest<AppState> for Submitted {
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        check_origin(&parts.headers)?;
        let member = Member::from_request_parts(&mut parts, state).await?;
        let header_token = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| AdminError::BadRequest("The form was too large or could not be read.".into()))?;
        let form = FormData::parse(&bytes)?;
        let token = form.get("_csrf").map(str::to_owned).or(header_token).unwrap_or_default();
        if !same_secret(&token, member.csrf()) {
            return Err(AdminError::CsrfFailed);
        }
        Ok(Self { member, form })
    }
}

/// A form posted by someone not signed in (sign-in, set-password), with the double-submit token
/// from [`LOGIN_COOKIE`] checked.
pub struct PublicForm {
    pub form: FormData,
}

impl FromRequest<AppState> for PublicForm {
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = request.into_parts();
        check_origin(&parts.headers)?;
        let cookie_token = cookie(&parts.headers, LOGIN_COOKIE).unwrap_or_default();
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| AdminError::BadRequest("The form was too large or could not be read.".into()))?;
        let form = FormData::parse(&bytes)?;
        let token = form.get("_csrf").unwrap_or_default();
        if cookie_token.is_empty() || !same_secret(token, &cookie_token) {
            return Err(AdminError::CsrfFailed);
        }
        Ok(Self { form })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; bs_session=abc; b=2"));
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn cross_site_requests_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("news.example"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(check_origin(&headers).is_err());
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://news.example"));
        assert!(check_origin(&headers).is_ok());
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(check_origin(&headers).is_err());
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }

    #[test]
    fn forms_keep_repeated_fields_in_order() {
        let form = FormData::parse(b"author=3&author=1&headline=A+b&_csrf=x").expect("parses");
        assert_eq!(form.all("author"), vec!["3", "1"]);
        assert_eq!(form.text("headline"), "A b");
        assert_eq!(form.text("missing"), "");
    }
}
