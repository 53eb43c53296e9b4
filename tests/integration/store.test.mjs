// Step 9: storing the object and updating the record; replacement; rollback; serving images.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  BASE, assertStored, expectStatus, fixture, serve, sha256, startWorker, waitFor,
} from "../support/harness.mjs";

const PNG = fixture("sample.png");
const JPG = fixture("sample.jpg");

describe("store", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  async function upload(p, url, source, opts = {}) {
    ctx.origin.route(url, serve(source, { contentType: opts.contentType ?? "application/octet-stream" }));
    const r = await ctx.put({ token: p.token, id: opts.id ?? p.id, image_url: url, ...(opts.extra ?? {}) });
    return r;
  }

  test("PNG upload: item data, R2 object, metadata and D1 row", async () => {
    const url = "https://img.example.com/store/a.png";
    const p = await ctx.prepare();
    const before = await ctx.getRow(p.id);
    assert.equal(before.image_key, null);
    const r = await upload(p, url, PNG);
    const body = await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    const d = body.data;
    assert.equal(d.value, null);
    assert.equal(d.description, null);
    assert.equal(d.notes, null);
    assert.equal(d.external_id, null);
    assert.equal(d.item_type, null);
    assert.equal(d.item_id, null);
    assert.equal(d.created_at, before.created_at);
    assert.equal(typeof d.updated_at, "string");
    assert.deepEqual(await (await ctx.listItemObjects(p.id)).map((o) => o.key), [d.image.key]);
    const row = await ctx.getRow(p.id);
    assert.equal(row.key, before.key);
    assert.equal(row.name, before.name);
    assert.equal(row.created_at, before.created_at);
  });

  test("JPEG upload with id as a digit string and all optional params", async () => {
    const url = "https://img.example.com/store/b.jpg";
    const p = await ctx.prepare();
    const r = await upload(p, url, JPG, {
      id: String(p.id), extra: { application: "planoorder", view: "default", session_view: "default" },
    });
    const body = await assertStored(ctx, r, { id: p.id, seeded: p, source: JPG, sourceUrl: url, contentType: "image/jpeg", ext: "jpg" });
    assert.equal(body.data.id, p.id);
  });

  test("id as a digit string with leading zeros", async () => {
    const url = "https://img.example.com/store/zeros.png";
    const p = await ctx.prepare();
    const r = await upload(p, url, PNG, { id: "00" + String(p.id) });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
  });

  test("replacing the image: new object stored, old object deleted, row points to the new one", async () => {
    const p = await ctx.prepare();
    const r1 = await upload(p, "https://img.example.com/store/first.png", PNG);
    const b1 = await assertStored(ctx, r1, { id: p.id, seeded: p, source: PNG });
    const r2 = await upload(p, "https://img.example.com/store/second.jpg", JPG);
    const b2 = await assertStored(ctx, r2, { id: p.id, seeded: p, source: JPG, contentType: "image/jpeg", ext: "jpg" });
    assert.notEqual(b1.data.image.key, b2.data.image.key);
    const keys = await waitFor(async () => {
      const ks = (await ctx.listItemObjects(p.id)).map((o) => o.key);
      return ks.length === 1 ? ks : null;
    });
    assert.deepEqual(keys, [b2.data.image.key], "only the new object remains");
    assert.equal(await ctx.bucket.get(b1.data.image.key), null);
    assert.equal((await ctx.getRow(p.id)).image_key, b2.data.image.key);
  });

  test("uploading the same URL twice: new key, object present, old key gone", async () => {
    const url = "https://img.example.com/store/same.png";
    const p = await ctx.prepare();
    const b1 = await assertStored(ctx, await upload(p, url, PNG), { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    const b2 = await assertStored(ctx, await upload(p, url, PNG), { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    assert.notEqual(b1.data.image.key, b2.data.image.key);
    const keys = await waitFor(async () => {
      const ks = (await ctx.listItemObjects(p.id)).map((o) => o.key);
      return ks.length === 1 ? ks : null;
    });
    assert.deepEqual(keys, [b2.data.image.key]);
    const res = await ctx.fetch(b2.data.image_url);
    assert.equal(res.status, 200);
    assert.equal(sha256(Buffer.from(await res.arrayBuffer())), sha256(PNG));
  });

  test("items are independent: uploading to one item does not touch another", async () => {
    const a = await ctx.prepare();
    const bId = await ctx.seedItem();
    const ba = await assertStored(ctx, await upload(a, "https://img.example.com/store/ind-a.png", PNG), { id: a.id, seeded: a, source: PNG });
    const bb = await assertStored(ctx, await upload(a, "https://img.example.com/store/ind-b.png", PNG, { id: bId }), { id: bId, seeded: a, source: PNG });
    assert.ok(await ctx.bucket.head(ba.data.image.key), "item A's object is still there");
    assert.ok(await ctx.bucket.head(bb.data.image.key));
  });

  // ---- serving --------------------------------------------------------------------------------
  test("GET /images/<key> serves the stored bytes with caching headers; 304 on If-None-Match; HEAD", async () => {
    const p = await ctx.prepare();
    const b = await assertStored(ctx, await upload(p, "https://img.example.com/store/serve.jpg", JPG), {
      id: p.id, seeded: p, source: JPG, contentType: "image/jpeg", ext: "jpg",
    });
    assert.ok(b.data.image_url.startsWith(`${BASE}/images/`));
    const res = await ctx.fetch(b.data.image_url);
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/jpeg");
    assert.equal(sha256(bytes), sha256(JPG));
    assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("content-security-policy"), "default-src 'none'; sandbox");
    const etag = res.headers.get("etag");
    assert.ok(etag, "ETag present");

    const res304 = await ctx.fetch(b.data.image_url, { headers: { "if-none-match": etag } });
    await res304.arrayBuffer();
    assert.equal(res304.status, 304);

    const head = await ctx.fetch(b.data.image_url, { method: "HEAD" });
    const headBody = Buffer.from(await head.arrayBuffer());
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("content-type"), "image/jpeg");
    assert.equal(headBody.length, 0);
  });

  test("HEAD /images/<unknown key> -> 404", async () => {
    const res = await ctx.fetch("/images/list_items/1/ffffffffffffffffffffffffffffffff.jpg", { method: "HEAD" });
    await res.arrayBuffer();
    assert.equal(res.status, 404);
  });

  test("GET /images/<unknown key> -> 404 JSON envelope", async () => {
    const res = await ctx.fetch("/images/list_items/1/00000000000000000000000000000000.png");
    const text = await res.text();
    assert.equal(res.status, 404);
    assert.equal(res.headers.get("content-type"), "application/json; charset=utf-8");
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.ok(res.headers.get("x-request-id"));
    const body = JSON.parse(text);
    assert.equal(typeof body.status, "string");
    assert.equal(typeof body.message, "string");
  });

  // ---- D1 failure after the R2 put ------------------------------------------------------------
  describe("D1 update fails after the R2 put", () => {
    beforeEach(async () => {
      await ctx.db.prepare("DROP TRIGGER IF EXISTS fail_image_update").run();
    });
    after(async () => {
      await ctx.db.prepare("DROP TRIGGER IF EXISTS fail_image_update").run();
    });
    const addTrigger = () =>
      ctx.db.prepare("CREATE TRIGGER fail_image_update BEFORE UPDATE ON list_items BEGIN SELECT RAISE(ABORT, 'boom'); END").run();

    test("item without an image -> 500 application-crash, no object left, row unchanged", async () => {
      const p = await ctx.prepare();
      const before = await ctx.getRow(p.id);
      await addTrigger();
      try {
        const r = await upload(p, "https://img.example.com/store/crash1.png", PNG);
        const body = expectStatus(r, 500, "application-crash");
        assert.ok(!r.text.includes("boom"), "internal error text not leaked");
        assert.ok(!/sqlite|SQLITE|D1_ERROR/.test(r.text), "no database error leaked");
        const keys = await waitFor(async () => {
          const ks = (await ctx.listItemObjects(p.id)).map((o) => o.key);
          return ks.length === 0 ? ks : null;
        });
        assert.deepEqual(keys, [], "the new object was removed");
        assert.deepEqual(await ctx.getRow(p.id), before);
      } finally {
        await ctx.db.prepare("DROP TRIGGER IF EXISTS fail_image_update").run();
      }
    });

    test("item with an image -> 500 application-crash, previous object kept, row unchanged", async () => {
      const p = await ctx.prepare();
      const b1 = await assertStored(ctx, await upload(p, "https://img.example.com/store/keep.png", PNG), { id: p.id, seeded: p, source: PNG });
      const before = await ctx.getRow(p.id);
      await addTrigger();
      try {
        const r = await upload(p, "https://img.example.com/store/crash2.jpg", JPG);
        expectStatus(r, 500, "application-crash");
        assert.ok(!r.text.includes("boom"), "internal error text not leaked");
        const keys = await waitFor(async () => {
          const ks = (await ctx.listItemObjects(p.id)).map((o) => o.key);
          return ks.length === 1 ? ks : null;
        });
        assert.deepEqual(keys, [b1.data.image.key], "only the previous object remains");
        const obj = await ctx.bucket.get(b1.data.image.key);
        assert.equal(sha256(Buffer.from(await obj.arrayBuffer())), sha256(PNG));
        assert.deepEqual(await ctx.getRow(p.id), before);
      } finally {
        await ctx.db.prepare("DROP TRIGGER IF EXISTS fail_image_update").run();
      }
      // after the trigger is gone the item accepts uploads again
      const r3 = await upload(p, "https://img.example.com/store/after.png", PNG);
      await assertStored(ctx, r3, { id: p.id, seeded: p, source: PNG });
    });
  });
});
