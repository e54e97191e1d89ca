// The newsroom CMS in a real browser (Debian's Chromium driven by playwright-core): a contributor
// uploads an image and files a story, an editor schedules and publishes it, a reader's comment with
// a link is held and approved, and the CMS pages are checked with axe-core and by keyboard alone.
// The tests run in order and build on each other: each one names what it needs from the one before.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import { startServer, launchBrowser, binary } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
const axeSource = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");
const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

const WRITER = { email: "writer@news.test", name: "Wendy Writer", role: "contributor", password: "writer password 2026" };
const EDITOR = { email: "editor@news.test", name: "Eddie Editor", role: "editor", password: "editor password 2026" };

// Longer than the 60 characters search results show, so the pre-publish checklist warns and the
// editor has to confirm: that path is exercised on purpose.
const HEADLINE = "Harbour cranes return to Busan after a year of repairs and a long wait for parts";
const DEK = "The port's container terminal reopens its north quay, easing a backlog that has kept ships waiting offshore.";
const SECTION = { name: "Asia", path: "/asia" };
const BODY = [
  "The **north quay** reopened on Monday after twelve months of repairs.",
  "",
  "## What changes",
  "",
  "- Four cranes are back in service",
  "- Ships no longer wait offshore for a berth",
  "",
  "> \"It is good to hear the cranes again,\" said one dock worker.",
].join("\n");
const IMAGE_ALT = "Three blue harbour cranes against an orange evening sky";
const COMMENT = "Timetables for the reopened quay are at https://example.com/busan-quay if anyone needs them.";

let server;
let base;
let browser;
// What one test leaves for the next.
const story = { mediaId: null, articleId: null, publicPath: null };

// ---------------------------------------------------------------------------------------------
// A genuine PNG, written by hand: signature, IHDR, one IDAT (zlib-deflated scanlines), IEND, each
// chunk with its CRC-32.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** An RGB PNG: an evening-sky gradient with three dark "cranes". */
function makePng(width, height) {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  header[10] = 0; // compression
  header[11] = 0; // filter method
  header[12] = 0; // no interlace
  const stride = 1 + width * 3;
  const raw = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const crane = [0.25, 0.5, 0.75].some((c) => Math.abs(x / width - c) < 0.01) && y > height * 0.3;
      const offset = y * stride + 1 + x * 3;
      raw[offset] = crane ? 20 : 255 - Math.floor((120 * y) / height);
      raw[offset + 1] = crane ? 40 : 120 + Math.floor((80 * x) / width);
      raw[offset + 2] = crane ? 120 : Math.floor((160 * y) / height);
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Helpers.

function addUser(dataDir, user) {
  const output = execFileSync(
    binary,
    ["user", "add", "--email", user.email, "--name", user.name, "--role", user.role, "--password-stdin", "--data-dir", dataDir],
    { input: `${user.password}\n`, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"] },
  );
  assert.match(output, new RegExp(`Added ${user.name}`), output);
}

/** A fresh browser context; CSP is bypassed so axe can be injected as an inline script. */
async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, bypassCSP: true, ...options });
  const page = await context.newPage();
  // The editor asks before leaving unsaved changes; a test that navigates away means it.
  page.on("dialog", (dialog) => dialog.accept());
  return { context, page };
}

async function signIn(page, user) {
  await page.goto(`${base}/admin/login`);
  await page.locator("#email").fill(user.email);
  await page.locator("#password").fill(user.password);
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/admin"),
    page.getByRole("button", { name: "Sign in", exact: true }).click(),
  ]);
  assert.equal(await page.locator(".who a[href='/admin/account']").innerText(), user.name);
}

async function signOut(page) {
  await Promise.all([
    page.waitForURL((url) => url.pathname === "/admin/login" && url.searchParams.get("notice") === "signed-out"),
    page.getByRole("button", { name: "Sign out", exact: true }).click(),
  ]);
}

/** Clicks a submit button and waits for the page it leads to (a redirect or a re-rendered form). */
async function submit(page, button) {
  await Promise.all([page.waitForEvent("load"), button.click()]);
}

/** Fails with a readable list when axe finds WCAG 2.x A/AA violations on the current page. */
async function assertAccessible(page, label) {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }), WCAG_TAGS);
  assert.ok(result.passes.length > 0, `axe checked nothing on ${label}`);
  const problems = result.violations.flatMap((v) =>
    v.nodes.map((n) => `${label}: ${v.id} [${v.impact}] ${v.help}\n    at ${n.target.join(" ")}\n    ${n.failureSummary?.replace(/\n/g, "\n    ")}`),
  );
  assert.deepEqual(problems, [], `axe found ${problems.length} problem(s):\n${problems.join("\n")}`);
}

/** The article status the editor shows, as written in the page (CSS capitalises it on screen). */
async function statusOf(page) {
  return (await page.locator(".heading-row .status").textContent()).trim();
}

async function sideways(page) {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** Polls `check` until it returns a truthy value or `ms` pass; returns the last value. */
async function poll(check, ms = 5_000, every = 200) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value || Date.now() >= deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

async function pageText(path) {
  const response = await fetch(base + path);
  return { status: response.status, html: await response.text() };
}

function need(value, what) {
  assert.ok(value, `this test needs ${what} from an earlier test, which did not get that far`);
  return value;
}

// ---------------------------------------------------------------------------------------------

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "broadsheet-newsroom-"));
  // The accounts are made with the real CLI, on the data folder the server then opens.
  addUser(dataDir, WRITER);
  addUser(dataDir, EDITOR);
  ({ server, base } = await startServer(dataDir));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

test("a contributor uploads an image, writes a story and submits it for review", async () => {
  const { context, page } = await newPage();
  await signIn(page, WRITER);

  // The media library: upload a real 1600 px PNG through the file input.
  await page.goto(`${base}/admin/media`);
  await page.locator("#file").setInputFiles({ name: "busan-cranes.png", mimeType: "image/png", buffer: makePng(1600, 900) });
  await Promise.all([
    page.waitForURL(/\/admin\/media\/\d+\?notice=uploaded/),
    page.getByRole("button", { name: "Upload", exact: true }).click(),
  ]);
  story.mediaId = new URL(page.url()).pathname.split("/").pop();
  assert.equal(await page.locator("h1").innerText(), "busan-cranes.png");
  assert.match(await page.locator("figcaption").innerText(), /^1600×900 png/);

  // Alt text on the image page.
  await page.locator("#alt").fill(IMAGE_ALT);
  await Promise.all([
    page.waitForURL(/\/admin\/media\/\d+\?notice=saved/),
    page.locator("form.stack").getByRole("button", { name: "Save", exact: true }).click(),
  ]);
  assert.equal(await page.locator("#alt").inputValue(), IMAGE_ALT);
  assert.equal(await page.locator("#focal-image").getAttribute("alt"), IMAGE_ALT);

  // The media library lists it, with its alt text, and passes axe.
  await page.goto(`${base}/admin/media`);
  const tile = page.locator(".media-grid li", { has: page.locator(`a[href='/admin/media/${story.mediaId}']`) });
  assert.equal(await tile.locator("img").getAttribute("alt"), IMAGE_ALT);
  await assertAccessible(page, "/admin/media (contributor)");

  // The editor: headline, dek, section, Markdown body, the uploaded image with alt text.
  await page.goto(`${base}/admin/articles/new`);
  assert.equal(await page.locator("h1").innerText(), "New article");
  await page.locator("#headline").fill(HEADLINE);
  await page.locator("#dek").fill(DEK);
  await page.locator("#section").selectOption({ label: SECTION.name });
  await page.locator("#body").click();
  await page.keyboard.type(BODY);
  await page.locator("#image").selectOption(story.mediaId);
  assert.match(await page.locator("#image option:checked").innerText(), /^busan-cranes\.png \(1600×900\)$/);
  await page.locator("#image_alt").fill(IMAGE_ALT);
  await page.locator("#image_caption").fill("The north quay at dusk.");
  await page.locator("#image_credit").fill("Broadsheet test suite");
  // The live preview renders the Markdown.
  await page.locator("#preview-body h2", { hasText: "What changes" }).waitFor();

  await Promise.all([
    page.waitForURL(/\/admin\/articles\/\d+\?notice=created/),
    page.getByRole("button", { name: "Create draft", exact: true }).click(),
  ]);
  story.articleId = new URL(page.url()).pathname.split("/").pop();
  assert.equal(await statusOf(page), "draft");
  assert.equal(await page.locator("#headline").inputValue(), HEADLINE);
  assert.equal(await page.locator("#section option:checked").innerText(), SECTION.name);
  assert.equal(await page.locator("#image").inputValue(), story.mediaId);
  assert.equal(await page.locator("#body").inputValue(), BODY);

  await Promise.all([
    page.waitForURL(/\/admin\/articles\/\d+\?notice=submitted/),
    page.getByRole("button", { name: "Submit for review", exact: true }).click(),
  ]);
  assert.equal(await statusOf(page), "in review");
  assert.match(await page.locator(".notice").innerText(), /Submitted for review/);
  // A contributor may not publish or schedule.
  assert.equal(await page.getByRole("button", { name: /publish/i }).count(), 0, "the contributor sees a Publish button");
  assert.equal(await page.getByRole("button", { name: "Schedule", exact: true }).count(), 0, "the contributor sees a Schedule button");
  assert.equal(await page.locator("#publish_at").count(), 0);
  await page.screenshot({ path: join(artifacts, "editor.png"), fullPage: true });
  await assertAccessible(page, `/admin/articles/${story.articleId} (contributor, in review)`);

  await signOut(page);
  await context.close();
});

test("an editor schedules the story, then publishes it; it reaches the fronts with a responsive image", async (t) => {
  need(story.articleId, "the submitted article");
  const { context, page } = await newPage();
  await signIn(page, EDITOR);

  // The dashboard's "In review" filter lists it.
  await Promise.all([
    page.waitForURL((url) => url.searchParams.get("status") === "in_review"),
    page.locator("nav.filters").getByRole("link", { name: "In review" }).click(),
  ]);
  const row = page.locator("table.list tr", { hasText: HEADLINE });
  assert.equal((await row.locator(".status").textContent()).trim(), "in review");
  await Promise.all([
    page.waitForURL(new RegExp(`/admin/articles/${story.articleId}$`)),
    row.getByRole("link", { name: HEADLINE }).click(),
  ]);
  assert.equal(await statusOf(page), "in review");

  // Schedule two minutes ahead. The newsroom's time zone is UTC (the default), so the
  // datetime-local value is the UTC wall-clock time.
  assert.match(await page.locator("label[for=publish_at]").innerText(), /\(UTC\)/);
  const publishAt = new Date(Date.now() + 2 * 60_000).toISOString().slice(0, 16);
  await page.locator("#publish_at").fill(publishAt);
  await submit(page, page.getByRole("button", { name: "Schedule", exact: true }));
  if (await page.locator(".warning").count()) {
    // The checklist warned (the headline is longer than search results show): confirm.
    assert.match(await page.locator(".warning").innerText(), /Publish anyway\?/);
    assert.ok(await page.locator(".checklist li.warn[data-code=seo_title]").count(), "the SEO-title warning is listed");
    // The confirmation keeps the time that was entered.
    assert.equal(await page.locator("#publish_at").inputValue(), publishAt);
    await submit(page, page.getByRole("button", { name: "Schedule", exact: true }));
  }
  assert.equal(await page.locator("#form-errors").count(), 0, await page.locator("main").innerText());
  assert.match(new URL(page.url()).search, /notice=scheduled/);
  assert.match(await statusOf(page), /^scheduled: goes live /);
  assert.equal(await page.locator("#publish_at").inputValue(), publishAt);

  // While scheduled it is nowhere on the site.
  const slug = HEADLINE.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  for (const path of ["/", SECTION.path]) {
    const { status, html } = await pageText(path);
    assert.equal(status, 200, path);
    assert.ok(!html.includes(HEADLINE), `${path} shows the scheduled article`);
    assert.ok(!html.includes(slug), `${path} links to the scheduled article`);
  }
  assert.equal((await pageText(`${SECTION.path}/${slug}`)).status, 404, "the scheduled article's address answers");

  // Publish now (confirming the checklist again if asked).
  await submit(page, page.getByRole("button", { name: "Publish now", exact: true }));
  if (await page.locator(".warning").count()) {
    await submit(page, page.getByRole("button", { name: "Publish anyway", exact: true }));
  }
  assert.match(new URL(page.url()).search, /notice=published/, await page.locator("main").innerText());
  assert.equal(await statusOf(page), "published");
  story.publicPath = await page.getByRole("link", { name: "View on the site" }).getAttribute("href");
  assert.equal(story.publicPath, `${SECTION.path}/${slug}`);

  // On the front page and the section front (publishing invalidates the cached pages).
  for (const path of ["/", SECTION.path]) {
    const shown = await poll(async () => (await pageText(path)).html.includes(HEADLINE));
    assert.ok(shown, `${path} does not show the published headline within 5 s`);
  }

  // The article shows the uploaded image; its resized variants (made in the background) give it a srcset.
  const reader = await newPage();
  const srcset = await poll(async () => {
    await reader.page.goto(base + story.publicPath);
    return reader.page.locator(".featured-image img").getAttribute("srcset");
  }, 20_000, 500);
  assert.ok(srcset, "the featured image has no srcset after 20 s");
  assert.match(srcset, /\s\d+w(,|$)/, srcset);
  const img = reader.page.locator(".featured-image img");
  assert.equal(await img.getAttribute("alt"), IMAGE_ALT);
  assert.equal(await reader.page.locator("h1").innerText(), HEADLINE);
  await img.scrollIntoViewIfNeeded();
  assert.ok(await poll(() => img.evaluate((el) => el.complete && el.naturalWidth > 0)), "the featured image does not load");
  assert.match(await reader.page.locator(".article-body").innerHTML(), /<h2[^>]*>What changes<\/h2>/);
  await reader.context.close();

  await signOut(page);
  await context.close();
});

test("a reader's comment with a link is held, and shows once the editor approves it", async () => {
  const publicPath = need(story.publicPath, "the published article");
  // An anonymous reader posts a comment with a link.
  const reader = await newPage();
  await reader.page.goto(base + publicPath);
  await reader.page.locator("#comment-name").fill("Harbour Watcher");
  await reader.page.locator("#comment-body").fill(COMMENT);
  await Promise.all([
    reader.page.waitForURL(/comment=held/),
    reader.page.locator(".comment-form button[type=submit]").click(),
  ]);
  assert.match(await reader.page.locator(".comments .notice").innerText(), /once a moderator has approved it/);
  assert.ok(!(await reader.page.locator(".comments").innerText()).includes(COMMENT), "the held comment is shown");

  // The editor finds it in the held queue.
  const { context, page } = await newPage();
  await signIn(page, EDITOR);
  await page.goto(`${base}/admin/comments`);
  assert.equal(await page.locator("nav.filters a[aria-current=page]").innerText(), "Held (1)");
  const item = page.locator(".queue-item", { hasText: COMMENT });
  assert.equal(await item.count(), 1, "the comment is not in the held queue");
  assert.match(await item.locator(".meta").innerText(), new RegExp(`Harbour Watcher on ${HEADLINE}`));
  await page.screenshot({ path: join(artifacts, "moderation.png"), fullPage: true });
  await assertAccessible(page, "/admin/comments (one held)");

  await Promise.all([
    page.waitForURL(/\/admin\/comments\?status=held&notice=saved/),
    item.getByRole("button", { name: "Approve", exact: true }).click(),
  ]);
  assert.equal(await page.locator(".queue-item", { hasText: COMMENT }).count(), 0, "the approved comment is still held");

  // Readers see it (approval invalidates the cached article page).
  const shown = await poll(async () => {
    await reader.page.goto(base + publicPath);
    return reader.page.locator(".comment-list li", { hasText: COMMENT }).count();
  });
  assert.ok(shown, "the approved comment does not appear on the article within 5 s");
  assert.match(await reader.page.locator(".comment-list li", { hasText: COMMENT }).innerText(), /Harbour Watcher/);

  await reader.context.close();
  await signOut(page);
  await context.close();
});

test("the editor, media library and moderation queue have no WCAG 2.x A/AA violations, and fit 320 px", async () => {
  const articleId = need(story.articleId, "the article");
  const publicPath = need(story.publicPath, "the published article");
  // Another held comment, so the queue is not empty.
  const held = await fetch(`${base}${publicPath}/comments`, {
    method: "POST",
    body: new URLSearchParams({ name: "Link Poster", body: "More at www.example.org/quay please" }),
    redirect: "manual",
  });
  assert.match(held.headers.get("location") ?? "", /comment=held/);

  for (const width of [1366, 320]) {
    const { context, page } = await newPage({ viewport: { width, height: 900 } });
    await signIn(page, EDITOR);
    const pages = [
      ["/admin/articles/new", "the new-article editor"],
      [`/admin/articles/${articleId}`, "the editor (published article)"],
      ["/admin/media", "the media library"],
      [`/admin/media/${story.mediaId}`, "the image page"],
      ["/admin/comments", "the moderation queue"],
    ];
    const overflowing = [];
    for (const [path, what] of pages) {
      await page.goto(base + path);
      await assertAccessible(page, `${path} at ${width}px (${what})`);
      const overflow = await sideways(page);
      if (overflow > 0) overflowing.push(`${path} scrolls sideways by ${overflow}px at ${width}px`);
    }
    assert.ok(await page.locator(".queue-item", { hasText: "Link Poster" }).count(), "the second held comment is missing");
    if (width === 320) {
      // Every control of the editor lies within the 320 px viewport, so nothing needs sideways scrolling.
      await page.goto(`${base}/admin/articles/${articleId}`);
      const clipped = await page.locator("#editor").evaluate((form) =>
        [...form.querySelectorAll("input:not([type=hidden]), select, textarea, button")]
          .map((el) => ({ name: el.id || el.textContent.trim(), box: el.getBoundingClientRect() }))
          .filter(({ box }) => box.left < 0 || box.right > window.innerWidth)
          .map(({ name, box }) => `${name}: ${Math.round(box.left)}–${Math.round(box.right)}px`),
      );
      assert.deepEqual(clipped, [], `editor controls outside the 320 px viewport:\n${clipped.join("\n")}`);
      await page.screenshot({ path: join(artifacts, "editor-320px.png"), fullPage: true });
    }
    assert.deepEqual(overflowing, [], overflowing.join("\n"));
    await context.close();
  }
});

test("keyboard only: a draft is written and created on /admin/articles/new", async () => {
  const { context, page } = await newPage();
  await signIn(page, WRITER);
  await page.goto(`${base}/admin/articles/new`);
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    return el ? `${el.tagName.toLowerCase()}#${el.id}|${el.textContent.trim().slice(0, 40)}` : "";
  });
  /** Presses Tab until `matches(focused())`, at most `limit` times. */
  async function tabTo(matches, what, limit = 60) {
    for (let i = 0; i < limit; i++) {
      await page.keyboard.press("Tab");
      if (matches(await focused())) return;
    }
    assert.fail(`${what} cannot be reached with Tab (focus ends on ${await focused()})`);
  }

  // The first Tab reaches the skip link; Enter moves focus to the main content.
  await page.keyboard.press("Tab");
  assert.match(await focused(), /^a#\|Skip to main content/);
  await page.keyboard.press("Enter");
  assert.match(await focused(), /^main#main\|/);

  const headline = "Keyboard-only draft about the night ferry timetable";
  await tabTo((f) => f.startsWith("input#headline|"), "the headline");
  await page.keyboard.type(headline);
  await tabTo((f) => f.startsWith("textarea#body|"), "the body");
  await page.keyboard.type("Written without a mouse.");
  await page.keyboard.press("Enter");
  await page.keyboard.type("Second paragraph, *emphasised*.");
  await tabTo((f) => f.startsWith("button#|Create draft"), "the Create draft button");
  await Promise.all([page.waitForURL(/\/admin\/articles\/\d+\?notice=created/), page.keyboard.press("Enter")]);

  assert.equal(await page.locator("h1").innerText(), "Edit article");
  assert.equal(await statusOf(page), "draft");
  assert.equal(await page.locator("#headline").inputValue(), headline);
  assert.equal(await page.locator("#body").inputValue(), "Written without a mouse.\nSecond paragraph, *emphasised*.");
  await page.goto(`${base}/admin?status=draft`);
  assert.equal(await page.locator("table.list").getByRole("link", { name: headline }).count(), 1);
  await context.close();
});
