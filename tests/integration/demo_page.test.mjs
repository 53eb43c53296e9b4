// The demo page (issue 3/4): `GET /` only where DEMO_PAGE = "true"; a real browser (Debian's
// Chromium driven by playwright-core, no browser download) uploads an image through it.
// scripts/test.sh installs /usr/bin/chromium; without it these tests fail, they never skip.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { FIXTURES, assertNothingStored, expectStatus, fixture, serve, sha256, startWorker, toResult } from "../support/harness.mjs";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const PNG = fixture("sample.png"); // 64×48
const GIF = fixture("sample.gif");
const JPG_PATH = path.join(FIXTURES, "sample.jpg"); // 64×48
const GIF_PATH = path.join(FIXTURES, "sample.gif");
const CSP = /^default-src 'none'; script-src 'nonce-([0-9a-f]{32})'; style-src 'nonce-\1'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'$/;

describe("demo page with DEMO_PAGE=true", () => {
  let ctx, browser, profile;
  before(async () => {
    ctx = await startWorker({ vars: { DEMO_PAGE: "true" } });
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/test.sh installs Debian's chromium`);
    profile = mkdtempSync(path.join(tmpdir(), "demo-page-chromium-"));
    // A persistent context is how Playwright takes a given (fresh, empty) --user-data-dir.
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await ctx?.dispose();
  });
  beforeEach(() => ctx.origin.reset());

  /** A new tab on the worker's page that records console errors (CSP violations land there). */
  async function openPage(suffix = "") {
    const page = await browser.newPage();
    const problems = [];
    page.on("console", (m) => m.type() === "error" && problems.push(m.text()));
    page.on("pageerror", (e) => problems.push(String(e)));
    const res = await page.goto(new URL("/" + suffix, ctx.url).toString());
    assert.equal(res.status(), 200);
    return { page, problems };
  }

  const stateOf = (page) => page.locator("#state").getAttribute("data-status");

  /** Waits until #stored has really rendered an image; its address and natural size. */
  async function renderedImage(page) {
    await page.waitForFunction(() => {
      const img = document.getElementById("stored");
      return !img.hidden && img.complete && img.naturalWidth > 0;
    }, null, { timeout: 15_000 });
    return page.evaluate(() => {
      const img = document.getElementById("stored");
      return { src: img.currentSrc, w: img.naturalWidth, h: img.naturalHeight };
    });
  }

  /** The page shows `action-successful` for item `id` and has rendered the stored image (64×48,
   * from the worker), R2 holds `source`'s bytes and D1 points at them. Returns what it read. */
  async function expectShownAndStored(page, id, source) {
    const envelope = JSON.parse(await page.locator("#envelope").textContent());
    assert.equal(envelope.status, "action-successful");
    assert.equal(envelope.data.id, id);
    assert.equal(envelope.data.image_url, new URL(`/images/${envelope.data.image.key}`, ctx.url).toString());
    assert.match(await page.locator("#http").textContent(), /^HTTP 200 · X-Request-Id [0-9a-f]+$/);
    // The <img> really rendered the stored object (served by the worker, same origin).
    assert.deepEqual(await renderedImage(page), { src: envelope.data.image_url, w: 64, h: 48 });
    const obj = await ctx.bucket.get(envelope.data.image.key);
    assert.ok(obj, "R2 object");
    assert.equal(sha256(Buffer.from(await obj.arrayBuffer())), sha256(source), "R2 holds the source's bytes");
    const row = await ctx.getRow(id);
    assert.equal(row.image_key, envelope.data.image.key);
    assert.equal(row.image_sha256, sha256(source));
    return { envelope, obj, row };
  }

  /** Clicks Upload and returns what the page sent to the API. (Chromium does not report a File
   * body's bytes to Playwright: its Content-Length here, the stored bytes in R2.) */
  async function uploadAndCapture(page) {
    const sent = page.waitForRequest((r) => new URL(r.url()).pathname === "/api/v1/list_items/upload_image");
    await page.click("#upload-button");
    const req = await sent;
    return { method: req.method(), url: new URL(req.url()), headers: await req.allHeaders() };
  }

  test("GET /: the page with its security headers, a fresh nonce per response", async () => {
    const a = await toResult(await ctx.fetch("/"));
    const b = await toResult(await ctx.fetch("/"));
    assert.equal(a.status, 200);
    assert.equal(a.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(a.headers.get("cache-control"), "no-store");
    assert.equal(a.headers.get("x-content-type-options"), "nosniff");
    assert.equal(a.headers.get("referrer-policy"), "no-referrer");
    assert.ok(a.headers.get("x-request-id"));
    const [, nonceA] = a.headers.get("content-security-policy").match(CSP) ?? [];
    const [, nonceB] = b.headers.get("content-security-policy").match(CSP) ?? [];
    assert.ok(nonceA && nonceB, a.headers.get("content-security-policy"));
    assert.notEqual(nonceA, nonceB);
    assert.equal(a.text.match(new RegExp(`nonce="${nonceA}"`, "g")).length, 2, "the style and the script carry the nonce");
    assert.doesNotMatch(a.text, /(src|href)="https?:/, "no external resource");
  });

  test("a browser fills the fields, uploads, and shows the envelope and the stored image", { timeout: 90_000 }, async () => {
    const s = await ctx.seedSession();
    const id = await ctx.seedItem();
    const url = ctx.origin.route("https://img.example.com/demo/sample.png", serve(PNG, { contentType: "application/octet-stream" }));
    const { page, problems } = await openPage();
    await page.fill("#token", s.token);
    await page.fill("#id", String(id));
    await page.fill("#image_url", url);
    await page.click("#upload-button");
    await page.waitForSelector('#state[data-status="action-successful"]', { timeout: 30_000 });

    const { envelope } = await expectShownAndStored(page, id, PNG);
    assert.equal(envelope.data.image.width, 64);
    assert.equal(ctx.origin.requestsTo(url).length, 1, "the origin was asked once");
    assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
    await page.close();
  });

  test("fields prefill from the fragment, which is then dropped; a rejection shows no image", { timeout: 90_000 }, async () => {
    const s = await ctx.seedSession();
    const id = await ctx.seedItem();
    const url = ctx.origin.route("https://img.example.com/demo/sample.gif", serve(GIF, { contentType: "image/png" }));
    const fragment = new URLSearchParams({ token: s.token, id: String(id), image_url: url });
    const { page, problems } = await openPage(`#${fragment}`);
    assert.equal(await page.inputValue("#token"), s.token);
    assert.equal(await page.inputValue("#id"), String(id));
    assert.equal(await page.inputValue("#image_url"), url);
    assert.equal(await page.evaluate(() => location.hash), "", "the token left the address bar");
    await page.click("#upload-button");
    await page.waitForSelector('#state[data-status="invalid-url"]', { timeout: 30_000 });
    const envelope = JSON.parse(await page.locator("#envelope").textContent());
    assert.deepEqual(envelope.data, { reason: "unsupported-type" });
    assert.match(await page.locator("#http").textContent(), /^HTTP 400 /);
    assert.equal(await page.locator("#stored").isHidden(), true);
    assert.equal(await page.locator("#stored").getAttribute("src"), null);
    assert.equal((await ctx.getRow(id)).image_key, null);
    assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), [], "no console errors but the 400 itself");
    await page.close();
  });

  test("a picked JPEG goes as a direct upload: envelope, stored image, R2 bytes, no source URL", { timeout: 90_000 }, async () => {
    const jpg = fixture("sample.jpg");
    const s = await ctx.seedSession();
    const id = await ctx.seedItem();
    const { page, problems } = await openPage();
    await page.fill("#token", s.token);
    await page.fill("#id", String(id));
    assert.notEqual(await page.inputValue("#image_url"), "", "the page starts with a sample URL");
    await page.setInputFiles("#file", JPG_PATH);
    assert.equal(await page.inputValue("#image_url"), "", "picking a file clears the URL: one source");

    // API.md §7: the file is the body, the id in the query, the token in Authorization only.
    const sent = await uploadAndCapture(page);
    assert.equal(sent.method, "PUT");
    assert.deepEqual([...sent.url.searchParams], [["id", String(id)]]);
    assert.equal(sent.headers["content-type"], "image/jpeg");
    assert.equal(sent.headers.authorization, `Bearer ${s.token}`);
    assert.equal(sent.headers["content-length"], String(jpg.length), "the body is the file (its bytes: R2 below)");
    await page.waitForSelector("#upload-button:enabled", { timeout: 30_000 }); // the answer is shown
    assert.equal(await stateOf(page), "action-successful", await page.locator("#envelope").textContent());

    const { envelope, obj, row } = await expectShownAndStored(page, id, jpg);
    assert.deepEqual(
      [envelope.data.image.content_type, envelope.data.image.width, envelope.data.image.height, envelope.data.image.bytes, envelope.data.image.sha256],
      ["image/jpeg", 64, 48, jpg.length, sha256(jpg)],
    );
    assert.match(envelope.data.image.key, new RegExp(`^list_items/${id}/[0-9a-f]{32}\\.jpg$`));
    assert.equal(obj.customMetadata?.upload, "direct");
    assert.equal(row.image_source_url, null, "a direct upload has no source URL");
    assert.equal(ctx.origin.log.length, 0, "nothing was fetched");
    assert.deepEqual(problems, [], "no console errors (a CSP violation would be one)");
    await page.close();
  });

  test("a typed URL drops the picked file and back; a picked GIF is invalid-param image, nothing stored", { timeout: 90_000 }, async () => {
    const s = await ctx.seedSession();
    const id = await ctx.seedItem();
    const before = await ctx.getRow(id);
    const { page, problems } = await openPage();
    await page.fill("#token", s.token);
    await page.fill("#id", String(id));
    const files = () => page.$eval("#file", (input) => input.files.length);
    await page.setInputFiles("#file", JPG_PATH);
    assert.equal(await files(), 1);
    await page.fill("#image_url", "https://img.example.com/typed.png");
    assert.equal(await files(), 0, "typing a URL drops the file");
    await page.setInputFiles("#file", GIF_PATH);
    assert.equal(await page.inputValue("#image_url"), "", "picking a file clears the URL");

    const sent = await uploadAndCapture(page);
    // image/gif is no upload type of the API: the page sends octet-stream and the bytes decide.
    assert.equal(sent.headers["content-type"], "application/octet-stream");
    assert.equal(sent.headers["content-length"], String(GIF.length), "the body is the file");
    await page.waitForSelector("#upload-button:enabled", { timeout: 30_000 }); // the answer is shown
    assert.equal(await stateOf(page), "invalid-param", await page.locator("#envelope").textContent());
    const envelope = JSON.parse(await page.locator("#envelope").textContent());
    assert.deepEqual(envelope.data, { param: "image", reason: "unsupported-type" });
    assert.match(await page.locator("#http").textContent(), /^HTTP 400 · X-Request-Id /);
    assert.equal(await page.locator("#state").getAttribute("class"), "failed");
    assert.equal(await page.locator("#stored").isHidden(), true);
    assert.equal(await page.locator("#stored").getAttribute("src"), null);
    await assertNothingStored(ctx, id, before);
    assert.equal(ctx.origin.log.length, 0, "nothing was fetched");
    assert.deepEqual(problems.filter((p) => !/status of 400/.test(p)), [], "no console errors but the 400 itself");
    await page.close();
  });

  test("HEAD, POST, QUERY and PROPFIND / stay route-non-existent", async () => {
    for (const method of ["HEAD", "POST", "QUERY", "PROPFIND"]) {
      const r = await toResult(await ctx.fetch("/", { method }));
      assert.equal(r.status, 500, method);
      if (method !== "HEAD") expectStatus(r, 500, "route-non-existent");
    }
  });
});

describe("demo page without DEMO_PAGE=true", () => {
  for (const vars of [{}, { DEMO_PAGE: "false" }, { DEMO_PAGE: "TRUE" }]) {
    test(`GET / with ${JSON.stringify(vars)} is 500 route-non-existent`, async () => {
      const ctx = await startWorker({ vars });
      try {
        expectStatus(await toResult(await ctx.fetch("/")), 500, "route-non-existent");
      } finally {
        await ctx.dispose();
      }
    });
  }
});

describe("demo page switched off by DISABLED_ROUTES", () => {
  test("DEMO_PAGE=true but DISABLED_ROUTES lists demo: 404 route-not-found", async () => {
    const ctx = await startWorker({ vars: { DEMO_PAGE: "true", DISABLED_ROUTES: "demo" } });
    try {
      expectStatus(await toResult(await ctx.fetch("/")), 404, "route-not-found");
    } finally {
      await ctx.dispose();
    }
  });
});
