//! Uploads through the media library: checked by decoding, never by name; limits on bytes and
//! pixels; variants made off the request path and used with srcset on the article page.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode, header};
use broadsheet::domain::{ArticleStatus, Role};
use broadsheet::store::newsroom::{ImageChoice, MediaRecord};

use super::{Browser, as_refs, editor_form, fields_of, version_of};
use crate::helpers::{TestApp, TestResponse, attrs, texts};

const BOUNDARY: &str = "----broadsheet-test-boundary";

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).expect("encode png");
    out.into_inner()
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for byte in data {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A well-formed PNG whose header claims 60,000 × 60,000 pixels (3.6 billion, over 10 GB decoded)
/// while the file itself is tiny: a decompression bomb if decoded blindly.
fn pixel_flood() -> Vec<u8> {
    let mut bytes = png(8, 8);
    // IHDR's data is bytes 16..29 (width, height, depth, colour type, ...); its CRC covers the chunk
    // type and data (bytes 12..29) and sits at 29..33.
    bytes[16..20].copy_from_slice(&60_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&60_000u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn multipart_body(browser: &Browser, file_name: &str, content_type: &str, data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n{}\r\n", browser.csrf)
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(data);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn send_upload(app: &TestApp, browser: &Browser, body: Body) -> TestResponse {
    let request = TestApp::request(Method::POST, "/admin/media", [10, 0, 0, 1].into())
        .header(header::COOKIE, &browser.cookie)
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(body)
        .expect("request");
    app.send(request).await
}

async fn upload(app: &TestApp, browser: &Browser, file_name: &str, content_type: &str, data: &[u8]) -> TestResponse {
    send_upload(app, browser, Body::from(multipart_body(browser, file_name, content_type, data))).await
}

/// A body that arrives in pieces of 64 KiB with a pause before each, as one sent over a network
/// does. The multipart parser reads all that has arrived at once, so a body that is there whole
/// trips the size limit before the first part, and one arriving in pieces trips it inside the file.
struct Chunked {
    chunks: Vec<Bytes>,
    paused: bool,
}

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if !self.paused {
            self.paused = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.paused = false;
        Poll::Ready(if self.chunks.is_empty() { None } else { Some(Ok(http_body::Frame::data(self.chunks.remove(0)))) })
    }
}

fn streamed(body: Vec<u8>) -> Body {
    Body::new(Chunked { chunks: body.chunks(64 * 1024).map(Bytes::copy_from_slice).collect(), paused: false })
}

async fn media_count(app: &TestApp) -> usize {
    app.state.store.media_list(1000, 0).await.expect("media").len()
}

#[tokio::test]
async fn a_valid_image_is_stored_by_its_hash_and_used_with_responsive_variants() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    let response = upload(&app, &e, "harbour.png", "image/png", &png(1600, 900)).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "{}", response.text());
    let item = app.state.store.media_list(10, 0).await.expect("media").remove(0);
    assert_eq!((item.width, item.height), (1600, 900));
    assert!(item.variants.is_none(), "variants are made later, off the request path");
    let dir = app.state.settings.server.data_dir.join("media");
    assert!(dir.join(format!("{}.png", item.hash)).exists());

    let made = broadsheet::jobs::media_variants::make_pending_variants(&app.state).await.expect("worker");
    assert_eq!((made.made, made.deferred, made.given_up), (1, 0, 0));
    let item = app.state.store.media_by_id(item.id).await.expect("store").expect("media");
    let variants = item.variants.clone().expect("variants");
    assert!(variants.iter().any(|v| v.width == 640 && v.file_name.ends_with(".webp")));
    for v in &variants {
        assert!(dir.join(&v.file_name).exists(), "{}", v.file_name);
    }
    let served = app.get(&format!("/media/{}", variants[0].file_name)).await;
    assert_eq!(served.status, StatusCode::OK);

    // Used as a featured image, the article page offers the variants with srcset and sizes.
    let id = app.draft_by(&editor, "with-a-picture").await;
    let mut fields = fields_of(&app, id).await;
    fields.image = Some(ImageChoice {
        media_id: item.id,
        alt: "Cranes at dusk".into(),
        caption: "The port".into(),
        credit: "Staff".into(),
    });
    let mut form = editor_form(&fields, version_of(&app, id).await);
    form.push(("intent".into(), "save".into()));
    assert_eq!(
        app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await.status,
        StatusCode::SEE_OTHER
    );
    app.set_status(id, ArticleStatus::Published).await;
    let article = app.state.store.article_by_id(id).await.expect("store").expect("article");
    let page = app.get(&article.path()).await;
    let doc = page.html();
    let webp = attrs(&doc, ".featured-image source[type='image/webp']", "srcset").pop().expect("webp sources");
    assert!(webp.contains("640w") && webp.contains("1600w"), "{webp}");
    assert_eq!(attrs(&doc, ".featured-image img", "width"), vec!["1600"]);
    assert_eq!(attrs(&doc, ".featured-image img", "height"), vec!["900"]);
    assert!(!attrs(&doc, ".featured-image img", "sizes").is_empty());
    assert_eq!(attrs(&doc, ".featured-image img", "alt"), vec!["Cranes at dusk"]);
    // The link-preview image is the focal-point crop.
    let og = attrs(&doc, "meta[property='og:image']", "content").pop().expect("og:image");
    assert!(og.ends_with(&format!("{}-card.jpg", item.hash)), "{og}");
    assert_eq!(app.get(og.trim_start_matches("http://news.test")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn an_image_without_alt_text_cannot_be_featured() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    upload(&app, &e, "a.png", "image/png", &png(400, 300)).await;
    let media = app.state.store.media_list(1, 0).await.expect("media").remove(0);
    let id = app.draft_by(&editor, "no-alt").await;
    let mut fields = fields_of(&app, id).await;
    fields.image =
        Some(ImageChoice { media_id: media.id, alt: " ".into(), caption: String::new(), credit: String::new() });
    let mut form = editor_form(&fields, version_of(&app, id).await);
    form.push(("intent".into(), "save".into()));
    let refused = app.admin_post(&e, &format!("/admin/articles/{id}"), &as_refs(&form)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&refused.html(), "#form-errors li").concat().contains("alt text"));
    assert!(fields_of(&app, id).await.image.is_none());
}

#[tokio::test]
async fn bad_uploads_are_refused_with_a_reason_and_nothing_is_stored() {
    let app = TestApp::spawn_with(|s| s.newsroom.max_upload_mib = 1, true).await;
    let writer = app.add_user("w@news.test", "Wendy Writer", Role::Contributor).await;
    let w = app.sign_in(&writer).await;

    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>"#;
    let refused = upload(&app, &w, "logo.svg", "image/svg+xml", svg).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&refused.html(), ".error").concat().contains("SVG"), "{}", refused.text());

    let liar = upload(&app, &w, "photo.jpg", "image/jpeg", b"#!/bin/sh\necho this is not a picture\n").await;
    assert_eq!(liar.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&liar.html(), ".error").concat().contains("Only JPEG, PNG, WebP and GIF"));

    let flood = upload(&app, &w, "bomb.png", "image/png", &pixel_flood()).await;
    assert_eq!(flood.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(texts(&flood.html(), ".error").concat().contains("60000 x 60000"), "{}", flood.text());

    let big = vec![0u8; 3 << 20];
    let oversized = upload(&app, &w, "huge.png", "image/png", &big).await;
    assert_eq!(oversized.status, StatusCode::PAYLOAD_TOO_LARGE);

    let truncated = png(300, 200);
    let broken = upload(&app, &w, "cut.png", "image/png", &truncated[..truncated.len() / 2]).await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(media_count(&app).await, 0);

    // A real PNG with a misleading name is judged by its content and stored as what it is.
    let renamed = upload(&app, &w, "holiday.jpg", "image/jpeg", &png(320, 240)).await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let stored = app.state.store.media_list(1, 0).await.expect("media").remove(0);
    assert_eq!(stored.format, broadsheet::media::ImageFormat::Png);
}

#[tokio::test]
async fn uploads_need_the_form_token() {
    let app = TestApp::spawn().await;
    let writer = app.add_user("w@news.test", "Wendy Writer", Role::Contributor).await;
    let mut w = app.sign_in(&writer).await;
    w.csrf = "forged".into();
    assert_eq!(upload(&app, &w, "a.png", "image/png", &png(64, 64)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(media_count(&app).await, 0);
}

#[tokio::test]
async fn an_upload_over_the_size_limit_gets_413_and_the_form_again_however_it_arrives() {
    let app = TestApp::spawn().await;
    let writer = app.add_user("w@news.test", "Wendy Writer", Role::Contributor).await;
    let w = app.sign_in(&writer).await;
    let limit = app.state.settings.newsroom.max_upload_mib << 20;

    // Just over: the body still fits the request limit, the file does not fit the upload limit.
    let just_over = vec![0u8; limit + 1024];
    // Far over, as in the review: 21 MiB against 20, streamed in, so the limit trips inside the file.
    let far_over = vec![0u8; limit + (1 << 20)];
    for (label, data) in [("just over", &just_over), ("far over", &far_over)] {
        for (how, body) in [
            ("streamed", streamed(multipart_body(&w, "scan.png", "image/png", data))),
            ("whole", Body::from(multipart_body(&w, "scan.png", "image/png", data))),
        ] {
            let response = send_upload(&app, &w, body).await;
            assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE, "{label}, {how}: {}", response.text());
            let doc = response.html();
            let message = texts(&doc, ".error").concat();
            assert!(
                message.contains("not uploaded") && message.contains("larger than 20"),
                "{label}, {how}: {message}"
            );
            // Named when the limit trips inside the file: a body there whole trips it before any part.
            if how == "streamed" || label == "just over" {
                assert!(message.contains("“scan.png”"), "{label}, {how}: {message}");
            }
            assert_eq!(
                attrs(&doc, "input[type=file]", "name"),
                vec!["file"],
                "{label}, {how}: the form is offered again"
            );
        }
    }
    assert_eq!(media_count(&app).await, 0);
}

#[tokio::test]
async fn an_image_needing_more_memory_than_the_decode_budget_is_refused_with_a_reason() {
    let app = TestApp::spawn_with(|s| s.newsroom.decode_memory_mib = 8, true).await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;

    // 1600 x 1200 RGB decodes to 5.8 MB and needs twice that while being cleaned: over 8 MiB. Its
    // file is small and its pixel count far under the limit, so only the memory check refuses it.
    let refused = upload(&app, &e, "wide.png", "image/png", &png(1600, 1200)).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.text());
    let message = texts(&refused.html(), ".error").concat();
    assert!(message.contains("1600 x 1200 pixels") && message.contains("memory"), "{message}");
    assert!(message.contains("at most 8 MB"), "{message}");
    assert_eq!(media_count(&app).await, 0);

    let accepted = upload(&app, &e, "small.png", "image/png", &png(400, 300)).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.text());
}

fn media_dir(app: &TestApp) -> std::path::PathBuf {
    app.state.settings.media_dir()
}

fn partial_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list media")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part") || name.ends_with(".tmp"))
        .collect()
}

/// Polls the record until `done` holds, for at most 20 s.
async fn wait_for(
    app: &TestApp,
    id: broadsheet::domain::MediaId,
    what: &str,
    done: impl Fn(&MediaRecord) -> bool,
) -> MediaRecord {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let item = app.state.store.media_by_id(id).await.expect("store").expect("media");
        if done(&item) {
            return item;
        }
        assert!(Instant::now() < deadline, "timed out waiting until {what}: {item:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn variants_that_cannot_be_written_stay_pending_and_appear_once_writing_works_again() {
    let app = TestApp::spawn().await;
    let editor = app.add_user("e@news.test", "Edna Editor", Role::Editor).await;
    let e = app.sign_in(&editor).await;
    assert_eq!(upload(&app, &e, "quay.png", "image/png", &png(1600, 900)).await.status, StatusCode::SEE_OTHER);
    let item = app.state.store.media_list(1, 0).await.expect("media").remove(0);
    let dir = media_dir(&app);

    // A folder where the first variant goes makes its write fail after the data was written, as a
    // full disk does (and unlike file permissions, it does so for root too).
    let obstacle = dir.join(format!("{}-1600w.webp", item.hash));
    std::fs::create_dir(&obstacle).expect("obstacle");
    let worker = broadsheet::jobs::media_variants::spawn(app.state.clone());

    let failed = wait_for(&app, item.id, "an attempt failed", |m| m.variant_attempts >= 1).await;
    assert!(failed.variants.is_none(), "the job must stay pending, not be given up");
    assert_eq!(partial_files(&dir), Vec::<String>::new(), "no .part file may be left behind");

    // Room again: the running worker makes the variants by itself, no restart, no new upload.
    std::fs::remove_dir(&obstacle).expect("remove obstacle");
    let done = wait_for(&app, item.id, "the variants were made", |m| m.variants.is_some()).await;
    let variants = done.variants.expect("variants");
    assert!(variants.iter().any(|v| v.file_name == format!("{}-1600w.webp", item.hash)), "{variants:?}");
    for v in &variants {
        assert!(dir.join(&v.file_name).is_file(), "{}", v.file_name);
    }
    assert_eq!(done.variant_attempts, 0, "a success clears the retry count");
    assert_eq!(partial_files(&dir), Vec::<String>::new());
    worker.abort();
}

#[tokio::test]
async fn stale_part_files_are_removed_when_the_worker_starts() {
    let app = TestApp::spawn().await;
    let dir = media_dir(&app);
    std::fs::create_dir_all(&dir).expect("media dir");
    let stale = dir.join(".0123abcd-640w.webp.4242-0.part");
    let fresh = dir.join(".0123abcd-320w.webp.4242-1.part");
    std::fs::write(&stale, b"half a picture").expect("stale");
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .and_then(|f| f.set_modified(SystemTime::now() - Duration::from_secs(3600)))
        .expect("age it");
    std::fs::write(&fresh, b"another node is writing this").expect("fresh");

    let worker = broadsheet::jobs::media_variants::spawn(app.state.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    while stale.exists() {
        assert!(Instant::now() < deadline, "the stale .part file is still there");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.abort();
    // One written moments ago may belong to a node sharing the folder, mid-write.
    assert!(fresh.exists());
}
