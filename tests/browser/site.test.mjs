// The reader site in a real browser (Debian's Chromium driven by playwright-core), checked by real
// validators: the Nu Html Checker for conformance and axe-core for WCAG 2.2 AA.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, launchBrowser } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const artifacts = join(here, "artifacts");
const REFERENCE = "/asia/kishidas-aim-for-us-visit-a-summit-with-north-koreas-kim-jong-un";
const PAGES = ["/", REFERENCE, "/asia", "/authors/daniel-kim", "/tags/japan", "/no-such-page"];

let server;
let base;
let browser;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), "broadsheet-browser-"));
  ({ server, base } = await startServer(dataDir));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

test("every page is conforming HTML (Nu Html Checker)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "broadsheet-vnu-"));
  const files = [];
  for (const [i, path] of PAGES.entries()) {
    const response = await fetch(base + path);
    const file = join(dir, `page-${i}.html`);
    writeFileSync(file, await response.text());
    files.push(file);
  }
  const jar = join(here, "node_modules", "vnu-jar", "build", "dist", "vnu.jar");
  let output = "";
  try {
    execFileSync("java", ["-jar", jar, "--errors-only", "--format", "gnu", ...files], { encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    output = `${error.stdout}${error.stderr}`;
  }
  assert.equal(output, "", `HTML errors:\n${output}`);
});

for (const width of [1366, 320]) {
  test(`no WCAG 2.2 AA violations at ${width}px (axe-core)`, async () => {
    const axeSource = readFileSync(join(here, "node_modules", "axe-core", "axe.min.js"), "utf8");
    // axe is injected as an inline script, which our CSP rightly forbids: let the test bypass it.
    const context = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    for (const [i, path] of PAGES.entries()) {
      await page.goto(base + path);
      await page.addScriptTag({ content: axeSource });
      const result = await page.evaluate(() =>
        window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } }),
      );
      const problems = result.violations.map((v) => `${path}: ${v.id} (${v.nodes.length}): ${v.help}`);
      assert.deepEqual(problems, [], problems.join("\n"));
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow}px at ${width}px`);
      await page.screenshot({ path: join(artifacts, `page-${i}-${width}px.png`), fullPage: false });
    }
    await context.close();
  });
}

test("with JavaScript off the article page shows every module, populated", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(base + REFERENCE);
  assert.equal(await page.locator("h1").innerText(), "Kishida’s Aim for U.S. Visit: A Summit with North Korea’s Kim Jong Un");
  for (const heading of ["[ASIA] Latest Stories", "You May Also Like", "Popular Now", "Must-Reads"]) {
    const section = page.locator("section.module", { has: page.locator("h2", { hasText: heading }) });
    assert.equal(await section.locator("li").count(), 5, heading);
  }
  assert.match(await page.locator(".views").innerText(), /^\d[\d,]* views$/);
  assert.equal(await page.locator("#comment-form textarea").getAttribute("maxlength"), "300");
  await page.screenshot({ path: join(artifacts, "article-no-js.png"), fullPage: true });
  await context.close();
});

// Headless Chromium says "HeadlessChrome" in its user agent and is rightly not counted as a reader.
const READER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";

test("with JavaScript on, the view beacon counts and the comment counter tracks characters", async () => {
  const context = await browser.newContext({ userAgent: READER_AGENT });
  const page = await context.newPage();
  const beacon = page.waitForResponse((r) => r.url().includes("/views/") && r.request().method() === "POST");
  await page.goto(base + REFERENCE);
  const response = await beacon;
  assert.equal(response.status(), 200);
  assert.equal((await response.json()).counted, true);

  const counter = page.locator(".char-counter");
  assert.equal(await counter.isVisible(), true);
  await page.locator("#comment-body").fill("Family 👨‍👩‍👧‍👦 ok");
  assert.equal(await counter.innerText(), "11/300");
  await context.close();
});

test("a reader posts a comment and sees it published", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + REFERENCE);
  await page.locator("#comment-name").fill("Browser Reader");
  await page.locator("#comment-body").fill("Posted from a real browser.\nWith a second line.");
  await page.locator(".comment-form button[type=submit]").click();
  await page.waitForURL(/comment=published/);
  assert.match(await page.locator(".notice").innerText(), /published/);
  const newest = page.locator(".comment-list li").first();
  assert.match(await newest.innerText(), /Browser Reader/);
  assert.match(await newest.locator(".comment-body").innerText(), /Posted from a real browser\.\nWith a second line\./);
  await context.close();
});
