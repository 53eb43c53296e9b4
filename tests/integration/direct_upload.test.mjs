// Direct upload (API.md §7): the request body is the image. Same route, checks, validation,
// single write and answer as an image fetched by URL; params from the query string.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import {
  assertNothingStored, assertStored, buildPng, expectStatus, fixture, pngChunks, serve, startWorker, toResult,
} from "../support/harness.mjs";

const PNG = fixture("sample.png");
const JPG = fixture("sample.jpg");
const MiB = 1024 * 1024;

/** A valid 64x48 PNG of about `size` bytes (a private ancillary chunk pads it). */
function bigPng(size) {
  const [ihdr, ...rest] = pngChunks(PNG);
  return buildPng([ihdr, { type: "zzZz", data: Buffer.alloc(size, 7) }, ...rest]);
}

/** A request body the client streams (no Content-Length): `chunks`, then end unless `hang`. */
function streamed(chunks, { hang = false } = {}) {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(new Uint8Array(chunks[i++]));
      else if (!hang) controller.close();
    },
  });
}

function split(buf, size) {
  const out = [];
  for (let off = 0; off < buf.length; off += size) out.push(buf.subarray(off, off + size));
  return out;
}

describe("direct upload", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { UPLOAD_TIMEOUT_MS: "1500" } });
  });
  after(() => ctx?.dispose());

  /** PUTs `body` as a direct upload for a fresh session and item. */
  async function upload(body, { contentType = "image/png", query = {}, headers = {}, p } = {}) {
    p ??= await ctx.prepare();
    const before = await ctx.getRow(p.id);
    const r = await ctx.put(body, { contentType, query: { id: p.id, token: p.token, ...query }, headers });
    return { p, r, before };
  }

  /** A streamed body goes through Miniflare's dispatchFetch directly (ctx.put buffers). */
  async function uploadStream(stream, { contentType = "image/png", p, query = {} } = {}) {
    p ??= await ctx.prepare();
    const before = await ctx.getRow(p.id);
    const url = `https://worker.test/api/v1/list_items/upload_image?${new URLSearchParams({ id: p.id, ...query })}`;
    const res = await ctx.mf.dispatchFetch(url, {
      method: "PUT",
      headers: { "content-type": contentType, authorization: `Bearer ${p.token}` },
      body: stream,
      duplex: "half",
    });
    return { p, r: await toResult(res), before };
  }

  async function expectImageRejected({ p, r, before }, reason) {
    assert.deepEqual(expectStatus(r, 400, "invalid-param").data, { param: "image", reason });
    await assertNothingStored(ctx, p.id, before);
  }

  test("PNG: stored byte-identical, metadata upload=direct, no source URL", async () => {
    const { p, r } = await upload(PNG);
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, direct: true });
    assert.equal((await ctx.getRow(p.id)).image_source_url, null);
  });

  test("JPEG as application/octet-stream, token in Authorization: the bytes decide the type", async () => {
    const p = await ctx.prepare();
    const r = await ctx.put(JPG, { contentType: "application/octet-stream", query: { id: p.id }, headers: { authorization: `Bearer ${p.token}` } });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: JPG, contentType: "image/jpeg", ext: "jpg", direct: true });
  });

  test("a JPEG declared image/png is stored as the JPEG it is", async () => {
    const { p, r } = await upload(JPG, { contentType: "image/png" });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: JPG, contentType: "image/jpeg", ext: "jpg", direct: true });
  });

  test("7 MiB streamed without Content-Length: one multipart write, byte-identical", async () => {
    const big = bigPng(7 * MiB);
    const { p, r } = await uploadStream(streamed(split(big, 300 * 1024)));
    await assertStored(ctx, r, { id: p.id, seeded: p, source: big, direct: true });
  });

  test("replacing a fetched image with a direct upload clears the source URL", async () => {
    const url = "https://img.example.com/direct/first.png";
    const p = await ctx.prepare({ url, handler: serve(PNG) });
    expectStatus(await ctx.put({ token: p.token, id: p.id, image_url: url }), 200, "action-successful");
    assert.equal((await ctx.getRow(p.id)).image_source_url, url);
    const { r } = await upload(JPG, { p, contentType: "image/jpeg" });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: JPG, contentType: "image/jpeg", ext: "jpg", direct: true });
    assert.equal((await ctx.getRow(p.id)).image_source_url, null);
  });

  for (const [name, bytes, reason] of [
    ["GIF", fixture("sample.gif"), "unsupported-type"],
    ["HTML", Buffer.from("<!doctype html><title>x</title>"), "unsupported-type"],
    ["truncated PNG", PNG.subarray(0, PNG.length - 30), "corrupt"],
    ["truncated JPEG", JPG.subarray(0, JPG.length >> 1), "corrupt"],
  ]) {
    test(`${name}: invalid-param image/${reason}, nothing stored`, async () => {
      await expectImageRejected(await upload(bytes), reason);
    });
  }

  test("a streamed body that breaks off is corrupt, nothing stored", async () => {
    const big = bigPng(6 * MiB);
    await expectImageRejected(await uploadStream(streamed(split(big.subarray(0, 5 * MiB + 77), 256 * 1024))), "corrupt");
  });

  test("a client that stops sending: invalid-param image/timeout after UPLOAD_TIMEOUT_MS, nothing stored", async () => {
    const big = bigPng(6 * MiB);
    const started = Date.now();
    const result = await uploadStream(streamed(split(big.subarray(0, 5 * MiB + 1000), 256 * 1024), { hang: true }));
    await expectImageRejected(result, "timeout");
    assert.ok(Date.now() - started >= 1400, "answered at the deadline, not before");
  });

  test("a client that never sends a first byte: invalid-param image/timeout after UPLOAD_TIMEOUT_MS, before the item lookup", async () => {
    const p = await ctx.prepare();
    const started = Date.now();
    const r = await chunkedOverHttp(p, [], { query: { id: 987654321 }, hang: true });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.data, { param: "image", reason: "timeout" }, JSON.stringify(r.body));
    const took = Date.now() - started;
    assert.ok(took >= 1400 && took < 6000, `answered at the deadline: ${took} ms`);
  });

  test("a first byte that never comes does not hide the other params' failures: missing id, then a bad id", async () => {
    const p = await ctx.prepare();
    const missing = await chunkedOverHttp(p, [], { query: { id: "" }, hang: true });
    assert.equal(missing.body.status, "missing-param", JSON.stringify(missing.body));
    assert.deepEqual(missing.body.data, { params: ["id"] });
    const bad = await chunkedOverHttp(p, [], { query: { id: "abc" }, hang: true });
    assert.equal(bad.body.status, "invalid-param", JSON.stringify(bad.body));
    assert.deepEqual(bad.body.data, { param: "id", reason: "not-an-integer" });
  });

  test("the deadline counts from the wait for the first byte: a late first byte leaves less time for the rest", async () => {
    const p = await ctx.prepare();
    const before = await ctx.getRow(p.id);
    const big = bigPng(2 * MiB);
    // 1.0 s before the first byte, the rest 0.8 s later: past the 1.5 s deadline in all,
    // though neither wait alone is.
    const r = await chunkedOverHttp(p, [1000, big.subarray(0, 1000), 800, big.subarray(1000)]);
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.data, { param: "image", reason: "timeout" }, JSON.stringify(r.body));
    await assertNothingStored(ctx, p.id, before);
    // The same body with shorter waits is stored.
    const fine = await chunkedOverHttp(p, [300, big.subarray(0, 1000), 300, big.subarray(1000)]);
    assert.equal(fine.body.status, "action-successful", JSON.stringify(fine.body));
  });

  test("image_url with a body: invalid-param image_url/conflicts-with-body, body not stored", async () => {
    const p = await ctx.prepare();
    const before = await ctx.getRow(p.id);
    const { r } = await upload(PNG, { p, query: { image_url: "https://img.example.com/x.png" } });
    const body = expectStatus(r, 400, "invalid-param");
    assert.deepEqual(body.data, { param: "image_url", reason: "conflicts-with-body" });
    await assertNothingStored(ctx, p.id, before);
  });

  test("an empty body is missing-param image, also beside an image_url; all missing params listed", async () => {
    const p = await ctx.prepare();
    for (const query of [{}, { image_url: "https://img.example.com/x.png" }]) {
      const { r } = await upload(Buffer.alloc(0), { p, query });
      assert.deepEqual(expectStatus(r, 400, "missing-param").data, { params: ["image"] });
    }
    const r = await ctx.put(Buffer.alloc(0), { contentType: "image/jpeg", query: { token: p.token } });
    assert.deepEqual(expectStatus(r, 400, "missing-param").data, { params: ["id", "image"] });
  });

  /** A direct upload over real HTTP with `Transfer-Encoding: chunked`: the headers go at once,
   * then each of `steps` in turn, a chunk (bytes) or a pause (ms); the body ends unless `hang`.
   * Miniflare's dispatchFetch cannot show a body's first byte coming late, or never: it sends an
   * empty stream as no body at all, and holds the request until the first chunk. */
  function chunkedOverHttp(p, steps, { query = {}, hang = false } = {}) {
    const url = new URL(`/api/v1/list_items/upload_image?${new URLSearchParams({ id: p.id, ...query })}`, ctx.url);
    return new Promise((resolve, reject) => {
      const req = http.request(url, {
        method: "PUT",
        headers: { "content-type": "image/png", authorization: `Bearer ${p.token}`, "transfer-encoding": "chunked" },
      }, (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (d) => (text += d)).on("end", () => {
          req.destroy();
          resolve({ status: res.statusCode, body: JSON.parse(text) });
        });
      });
      req.on("error", (e) => (e.code === "ECONNRESET" ? undefined : reject(e)));
      req.flushHeaders();
      (async () => {
        for (const step of steps) {
          if (typeof step === "number") await new Promise((r) => setTimeout(r, step));
          else if (!req.destroyed) req.write(step);
        }
        if (!hang && !req.destroyed) req.end();
      })();
    });
  }

  test("an empty body sent chunked (no Content-Length) is missing-param image, before the item lookup and image_url", async () => {
    const p = await ctx.prepare();
    const before = await ctx.getRow(p.id);
    const missingImage = (r) => {
      assert.equal(r.status, 400);
      assert.equal(r.body.status, "missing-param");
      assert.deepEqual(r.body.data, { params: ["image"] });
    };
    missingImage(await chunkedOverHttp(p, []));
    // Step 6 decides before step 7: an id with no list item does not matter yet.
    missingImage(await chunkedOverHttp(p, [], { query: { id: 987654321 } }));
    // With an image_url, the request is a direct upload with no image (API.md §7).
    missingImage(await chunkedOverHttp(p, [], { query: { image_url: "https://img.example.com/x.png" } }));
    // And the same body with bytes is read whole from its first byte on.
    const r = await chunkedOverHttp(p, split(PNG, 100));
    assert.equal(r.body.status, "action-successful", JSON.stringify(r.body));
    assert.equal(r.body.data.image.sha256, createHash("sha256").update(PNG).digest("hex"));
    const stored = await ctx.bucket.get(r.body.data.image.key);
    assert.deepEqual(Buffer.from(await stored.arrayBuffer()), PNG);
    assert.notDeepEqual(await ctx.getRow(p.id), before);
  });

  test("order of checks: a bad token with a bad body is invalid-token", async () => {
    // The body (a GIF) would be invalid-param; the session decides first, and the worker
    // touches a direct upload's body only at step 6. (With a body of megabytes the answer
    // comes while the client is still sending, and undici reports the closed upload as a
    // failed fetch: small here so the answer can be read.)
    const p = await ctx.prepare();
    const junk = Buffer.concat([fixture("sample.gif"), Buffer.alloc(1024, 1)]);
    const r = await ctx.put(junk, { contentType: "image/png", query: { id: p.id }, headers: { authorization: "Bearer tok_0000000000000000000000000000000000" } });
    expectStatus(r, 401, "invalid-token");
  });

  test("an unknown item is invalid-param id/not-found before the body is read", async () => {
    const p = await ctx.prepare();
    const r = await ctx.put(PNG, { contentType: "image/png", query: { id: 987654321, token: p.token } });
    assert.deepEqual(expectStatus(r, 400, "invalid-param").data, { param: "id", reason: "not-found" });
  });

  test("a content type that is neither JSON nor an image upload type is invalid-content-type", async () => {
    const p = await ctx.prepare();
    for (const contentType of ["image/gif", "multipart/form-data; boundary=x", "text/plain"]) {
      const r = await ctx.put(PNG, { contentType, query: { id: p.id, token: p.token } });
      expectStatus(r, 400, "invalid-content-type");
    }
  });
});

describe("direct upload size cap", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { MAX_IMAGE_BYTES: String(2 * MiB) } });
  });
  after(() => ctx?.dispose());

  for (const [name, announced] of [["announced", true], ["streamed", false]]) {
    test(`over the size cap (${name}): invalid-param image/too-large, nothing stored`, async () => {
      const p = await ctx.prepare();
      const before = await ctx.getRow(p.id);
      const big = bigPng(3 * MiB);
      let status, body;
      if (announced) {
        ({ status, body } = await ctx.put(big, { contentType: "image/png", query: { id: p.id, token: p.token } }));
      } else {
        const res = await ctx.mf.dispatchFetch(`https://worker.test/api/v1/list_items/upload_image?id=${p.id}&token=${p.token}`, {
          method: "PUT", headers: { "content-type": "image/png" }, body: streamed(split(big, 256 * 1024)), duplex: "half",
        });
        ({ status, body } = await toResult(res));
      }
      assert.equal(status, 400);
      assert.equal(body.status, "invalid-param");
      assert.deepEqual(body.data, { param: "image", reason: "too-large" });
      await assertNothingStored(ctx, p.id, before);
    });
  }

});

describe("direct upload pixel limit", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { MAX_IMAGE_PIXELS: "3000" } });
  });
  after(() => ctx?.dispose());

  test("too many pixels: invalid-param image/too-many-pixels, nothing stored", async () => {
    const p = await ctx.prepare();
    const before = await ctx.getRow(p.id);
    const r = await ctx.put(PNG, { contentType: "image/png", query: { id: p.id, token: p.token } });
    assert.deepEqual(expectStatus(r, 400, "invalid-param").data, { param: "image", reason: "too-many-pixels" });
    await assertNothingStored(ctx, p.id, before);
  });
});
