// Steps 3 and 4: content type, body decoding, query merge.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  BASE, DAY, ROUTE, assertStored, expectStatus, fixture, isoFromNow, serve, startWorker, toResult,
  uniqueId,
} from "../support/harness.mjs";

const PNG = fixture("sample.png");

describe("content type and body decoding", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  test("missing content type -> 400 invalid-content-type", async () => {
    const r = await ctx.put({ id: 1, image_url: "https://img.example.com/a.png" }, { contentType: null });
    const body = expectStatus(r, 400, "invalid-content-type");
  });

  for (const ct of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "text/json"]) {
    test(`content type ${ct} -> 400 invalid-content-type`, async () => {
      const r = await ctx.put({ id: 1 }, { contentType: ct });
      expectStatus(r, 400, "invalid-content-type");
    });
  }

  for (const ct of ["application/json", "Application/JSON; charset=UTF-8", "application/json;charset=utf-8"]) {
    test(`content type "${ct}" is accepted`, async () => {
      const r = await ctx.put("{}", { contentType: ct });
      expectStatus(r, 400, "no-params-decoded");
    });
  }

  for (const [name, raw] of [
    ["malformed JSON", '{"id": 1, "image_url": '],
    ["trailing garbage", '{"id": 1} x'],
    ["a JSON array", '[{"id": 1}]'],
    ["a JSON string", '"hello"'],
    ["a JSON number", "42"],
    ["JSON null", "null"],
  ]) {
    test(`${name} -> 400 invalid-encoded-params`, async () => {
      const r = await ctx.put(raw);
      expectStatus(r, 400, "invalid-encoded-params");
    });
  }

  test("invalid UTF-8 -> 400 invalid-encoded-params", async () => {
    const raw = Buffer.concat([Buffer.from('{"id": 1, "image_url": "https://img.example.com/'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('.png"}')]);
    const r = await ctx.put(raw);
    expectStatus(r, 400, "invalid-encoded-params");
  });

  test("a query string whose escapes are not UTF-8 -> 400 invalid-encoded-params, JSON or direct upload", async () => {
    const { id, token } = await ctx.prepare();
    // Merged into a JSON request: the bad value is the token, which the body lacks.
    const merged = await ctx.put({ id, image_url: "https://img.example.com/a.png" }, { path: `${ROUTE}?token=%FF${token}` });
    expectStatus(merged, 400, "invalid-encoded-params");
    // A direct upload's params are its query (API.md §3 step 4).
    const direct = await ctx.put(PNG, { contentType: "image/png", path: `${ROUTE}?id=${id}&token=${token}&view=%C3` });
    expectStatus(direct, 400, "invalid-encoded-params");
    // Well-formed escapes decode: %64%65fault is "default".
    const fine = await ctx.put(PNG, { contentType: "image/png", path: `${ROUTE}?id=${id}&token=${token}&view=%64%65fault` });
    expectStatus(fine, 200, "action-successful");
  });

  test("body over 64 KiB -> 400 invalid-encoded-params", async () => {
    const raw = JSON.stringify({ id: 1, image_url: "https://img.example.com/a.png", pad: "a".repeat(66_000) });
    assert.ok(Buffer.byteLength(raw) > 65536);
    const r = await ctx.put(raw);
    expectStatus(r, 400, "invalid-encoded-params");
  });

  test("body over 64 KiB streamed without Content-Length -> 400 invalid-encoded-params", async () => {
    const raw = Buffer.from(JSON.stringify({ id: 1, image_url: "https://img.example.com/a.png", pad: "a".repeat(70_000) }));
    const stream = new ReadableStream({
      start(c) {
        for (let off = 0; off < raw.length; off += 8192) c.enqueue(new Uint8Array(raw.subarray(off, off + 8192)));
        c.close();
      },
    });
    const res = await ctx.mf.dispatchFetch(`${BASE}${ROUTE}`, {
      method: "PUT", headers: { "content-type": "application/json" }, body: stream, duplex: "half",
    });
    const r = await toResult(res);
    expectStatus(r, 400, "invalid-encoded-params");
  });

  test("body of 65536 bytes is decoded (then fails on the token)", async () => {
    const head = '{"id":1,"image_url":"https://img.example.com/a.png","pad":"';
    const raw = head + "a".repeat(65536 - head.length - 2) + '"}';
    assert.equal(Buffer.byteLength(raw), 65536);
    const r = await ctx.put(raw);
    expectStatus(r, 401, "invalid-token");
  });

  test("empty body and no query -> 400 no-params-decoded", async () => {
    const r = await ctx.put(undefined);
    expectStatus(r, 400, "no-params-decoded");
  });

  test("{} -> 400 no-params-decoded", async () => {
    const r = await ctx.put({});
    expectStatus(r, 400, "no-params-decoded");
  });

  test("{} with an Authorization header -> 400 no-params-decoded", async () => {
    const s = await ctx.seedSession();
    const r = await ctx.put({}, { headers: { authorization: `Bearer ${s.token}` } });
    expectStatus(r, 400, "no-params-decoded");
  });

  test("empty body with an Authorization header -> 400 no-params-decoded", async () => {
    const s = await ctx.seedSession();
    const r = await ctx.put("", { headers: { authorization: `Bearer ${s.token}` } });
    expectStatus(r, 400, "no-params-decoded");
  });

  test("empty body with query params is decoded (query params only -> success)", async () => {
    const url = "https://img.example.com/decode/query-only.png";
    const p = await ctx.prepare({ url, handler: serve(PNG) });
    const r = await ctx.put(undefined, { query: { token: p.token, id: p.id, image_url: url } });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
  });

  test("query params are merged with the body; the body wins", async () => {
    const url = "https://img.example.com/decode/merged.png";
    const p = await ctx.prepare({ url, handler: serve(PNG) });
    const r = await ctx.put(
      { id: p.id, image_url: url },
      { query: { token: p.token, id: uniqueId(), image_url: "ftp://nope.example.com/x" } },
    );
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
  });

  test("order: invalid-encoded-params comes before the token check", async () => {
    const r = await ctx.put("[1,2", { headers: { authorization: "Bearer nope" } });
    expectStatus(r, 400, "invalid-encoded-params");
  });

  test("order: bad content type beats an expired session", async () => {
    const s = await ctx.seedSession({ created_at: isoFromNow(-30 * DAY), last_used_at: isoFromNow(-20 * DAY) });
    const id = await ctx.seedItem();
    const r = await ctx.put({ token: s.token, id, image_url: "https://img.example.com/a.png" }, { contentType: "text/plain" });
    expectStatus(r, 400, "invalid-content-type");
    assert.equal(ctx.origin.log.length, 0);
  });
});
