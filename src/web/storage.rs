//! Writes are refused while free space is below the watermark (see [`crate::disk`]); reading goes
//! on. Handlers that can show the writer's text again (comments, the article editor) check the
//! watermark themselves and answer with their form; this layer covers every other write.

use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;

use super::AppState;
use super::error::storage_full_response;

/// The refusal of a write that came while free space is low, if this request is one.
pub fn refusal(state: &AppState, request: &Request) -> Option<Response> {
    if state.disk.is_low() && writes(request.method()) && !handles_it_itself(request.uri().path()) {
        tracing::warn!(path = request.uri().path(), "write refused: free space is below the watermark");
        return Some(storage_full_response());
    }
    None
}

fn writes(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Requests that either write nothing durable or keep the writer's text on refusal themselves.
fn handles_it_itself(path: &str) -> bool {
    // View beacons are counted in memory and written in batches, retried until there is room.
    path.starts_with("/views/")
        // Rendering a preview writes nothing; signing out must always work.
        || path == "/admin/preview"
        || path == "/admin/logout"
        // The comment form and the editor show the text again with the reason.
        || (!path.starts_with("/admin/") && path.ends_with("/comments"))
        || is_editor_save(path)
}

fn is_editor_save(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/admin/articles") else { return false };
    let rest = rest.strip_suffix("/autosave").unwrap_or(rest);
    rest.is_empty() || rest.strip_prefix('/').is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writers_that_keep_the_text_themselves_are_let_through() {
        for path in [
            "/views/12/abc",
            "/asia/a-story/comments",
            "/admin/articles",
            "/admin/articles/12",
            "/admin/articles/12/autosave",
            "/admin/logout",
            "/admin/preview",
        ] {
            assert!(handles_it_itself(path), "{path}");
        }
        for path in [
            "/admin/media",
            "/admin/login",
            "/admin/articles/12/workflow",
            "/admin/settings",
            "/admin/comments/3",
            "/admin/articles/x",
            "/admin/articles/12/revisions/3/restore",
        ] {
            assert!(!handles_it_itself(path), "{path}");
        }
        assert!(writes(&Method::POST) && writes(&Method::DELETE) && !writes(&Method::GET) && !writes(&Method::HEAD));
    }
}
