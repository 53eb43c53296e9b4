// Each image is written once, straight to its final key (API.md §4, issue 2.2): with a
// Content-Length as one streamed put, without one as one put (a body within one 5 MiB part) or
// one multipart upload. Whatever fails, nothing becomes visible and nothing is left behind.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  assertNothingStored, buildPng, expectInvalidUrl, expectStatus, expectStoredFrom, fixture, pngChunks, serve,
  startWorker,
} from "../support/harness.mjs";

const MiB = 1024 * 1024;

/** A valid 64x48 PNG of exactly `size` bytes: sample.png plus a private ancillary chunk. */
function pngOfSize(size) {
  const [ihdr, ...rest] = pngChunks(fixture("sample.png"));
  const base = buildPng([ihdr, ...rest]).length + 12; // + the new chunk's length, type and CRC
  return buildPng([ihdr, { type: "zzZz", data: randomBytes(size - base) }, ...rest]);
}

/** Flip one byte `fromEnd` bytes before the end (a CRC catches it). */
function flipNearEnd(buf, fromEnd) {
  const copy = Buffer.from(buf);
  copy[copy.length - fromEnd] ^= 0xff;
  return copy;
}

const chunked = (buf) => serve(buf, { contentLength: false, chunks: 64 });

describe("one write per image", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ logs: true });
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  for (const [name, size] of [
    ["within one part", 3 * MiB],
    ["exactly one part", 5 * MiB],
    ["one byte past a part", 5 * MiB + 1],
    ["several parts", 12 * MiB + 12345],
    ["exactly two parts", 10 * MiB],
  ]) {
    test(`without Content-Length, ${name} (${size} bytes): one object, byte-identical`, async () => {
      const png = pngOfSize(size);
      assert.equal(png.length, size);
      const url = `https://img.example.com/one/${size}.png`;
      await expectStoredFrom(ctx, { url, handler: chunked(png), source: png, sourceUrl: url });
    });
  }

  test("with Content-Length (streamed put): one object at its final key", async () => {
    const png = pngOfSize(6 * MiB);
    const url = "https://img.example.com/one/announced.png";
    await expectStoredFrom(ctx, { url, handler: serve(png, { chunks: 30 }), source: png, sourceUrl: url });
  });

  test("replacing an image leaves exactly the new object", async () => {
    const first = pngOfSize(2 * MiB);
    const second = pngOfSize(7 * MiB);
    const p = await ctx.prepare({ url: "https://img.example.com/one/first.png", handler: chunked(first) });
    ctx.origin.route("https://img.example.com/one/second.png", chunked(second));
    const one = expectStatus(await ctx.put({ token: p.token, id: p.id, image_url: "https://img.example.com/one/first.png" }), 200, "action-successful");
    const two = expectStatus(await ctx.put({ token: p.token, id: p.id, image_url: "https://img.example.com/one/second.png" }), 200, "action-successful");
    assert.notEqual(one.data.image.key, two.data.image.key);
    assert.deepEqual((await ctx.listItemObjects(p.id)).map((o) => o.key), [two.data.image.key]);
    assert.equal(two.data.image.bytes, second.length);
  });

  for (const [name, size] of [["one put", 3 * MiB], ["multipart", 12 * MiB]]) {
    test(`without Content-Length, a bad CRC at the very end (${name}): corrupt, nothing stored`, async () => {
      await expectInvalidUrl(ctx, {
        url: `https://img.example.com/one/bad-${size}.png`,
        handler: chunked(flipNearEnd(pngOfSize(size), 1)),
        reason: "corrupt",
      });
    });

    test(`without Content-Length, a body cut off (${name}): nothing stored`, async () => {
      const png = pngOfSize(size);
      await expectInvalidUrl(ctx, {
        url: `https://img.example.com/one/cut-${size}.png`,
        handler: (req, res) => {
          res.writeHead(200, { "content-type": "image/png" });
          res.write(png.subarray(0, png.length - 1000), () => setTimeout(() => req.socket.destroy(), 20));
        },
        reason: ["unreachable", "corrupt"],
      });
    });

    test(`without Content-Length, a body that ends early but cleanly (${name}): corrupt, nothing stored`, async () => {
      const png = pngOfSize(size);
      await expectInvalidUrl(ctx, {
        url: `https://img.example.com/one/short-${size}.png`,
        handler: chunked(png.subarray(0, png.length - 20)),
        reason: "corrupt",
      });
    });
  }

  test("a multipart upload that fails is aborted: the log names it and R2 no longer knows it", async () => {
    const png = flipNearEnd(pngOfSize(11 * MiB), 1);
    ctx.logs.length = 0;
    await expectInvalidUrl(ctx, { url: "https://img.example.com/one/aborted.png", handler: chunked(png), reason: "corrupt" });
    const aborted = ctx.logs.map((l) => l.message).join("\n").match(/"event":"multipart-aborted","key":"([^"]+)","upload_id":"([^"]+)"/);
    assert.ok(aborted, "the worker logs the aborted upload");
    const upload = ctx.bucket.resumeMultipartUpload(aborted[1], aborted[2]);
    await assert.rejects(upload.uploadPart(1, new Uint8Array(5 * MiB)), "an aborted upload takes no more parts");
  });
});

describe("storage failures", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  /** A real D1 failure: a trigger that refuses to point item `id` at any image. */
  async function failUpdatesOf(id) {
    await ctx.db.exec(
      `CREATE TRIGGER refuse_${id} BEFORE UPDATE OF image_key ON list_items WHEN NEW.id = ${id} BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END;`,
    );
  }

  for (const [name, png, opts] of [
    ["one put", pngOfSize(200 * 1024), {}],
    ["streamed put", pngOfSize(3 * MiB), { chunks: 20 }],
    ["multipart", pngOfSize(11 * MiB), { contentLength: false, chunks: 40 }],
  ]) {
    test(`a D1 failure deletes the new object (${name}): application-crash, row unchanged`, async () => {
      const url = `https://img.example.com/fail/${name.replace(" ", "-")}.png`;
      const p = await ctx.prepare({ url, handler: serve(png, opts) });
      const before = await ctx.getRow(p.id);
      await failUpdatesOf(p.id);
      const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
      const body = expectStatus(r, 500, "application-crash");
      assert.ok(!JSON.stringify(body).includes("injected"), "internal detail stays in the log");
      await assertNothingStored(ctx, p.id, before);
    });
  }
});

// STORE_TIMEOUT_MS is tested natively (src/commit/tests.rs): Miniflare runs local R2 and D1 in
// the worker's own runtime, so holding either busy stalls the worker too, and a tiny deadline
// loses the race to local storage, which answers within one event-loop turn.
