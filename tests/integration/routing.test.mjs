// Step 1 and 2 of the order of checks: routing, DISABLED_ROUTES, bindings; and the envelope.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ROUTE, expectStatus, fixture, startWorker, toResult } from "../support/harness.mjs";

describe("routing", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());

  for (const [method, path] of [
    ["GET", ROUTE],
    ["POST", ROUTE],
    ["DELETE", ROUTE],
    ["PATCH", ROUTE],
    ["PUT", "/api/v1/nope"],
    ["PUT", "/api/v1/list_items/upload_image/extra"],
    ["PUT", "/api/v1/list_items"],
    ["GET", "/"],
  ]) {
    test(`${method} ${path} -> 500 route-non-existent`, async () => {
      const r = await ctx.put({ id: 1 }, { method, path });
      expectStatus(r, 500, "route-non-existent");
    });
  }

  test("methods worker::Method does not know (QUERY, PROPFIND, PURGE) are not taken for GET", async () => {
    const key = `list_items/1/${"a".repeat(32)}.png`;
    await ctx.bucket.put(key, new Uint8Array(fixture("sample.png")), { httpMetadata: { contentType: "image/png" } });
    assert.equal((await toResult(await ctx.fetch(`/images/${key}`))).status, 200);
    for (const method of ["QUERY", "PROPFIND", "PURGE"]) {
      for (const path of [`/images/${key}`, ROUTE]) {
        expectStatus(await toResult(await ctx.fetch(path, { method })), 500, "route-non-existent");
      }
    }
  });

  test("an image key's slashes may come percent-encoded (%2F), as generic clients send a path parameter", async () => {
    const hex = "b".repeat(32);
    await ctx.bucket.put(`list_items/1/${hex}.png`, new Uint8Array(fixture("sample.png")), { httpMetadata: { contentType: "image/png" } });
    for (const path of [`/images/list_items%2F1%2F${hex}.png`, `/images/list_items%2f1/${hex}.png`]) {
      const r = await toResult(await ctx.fetch(path));
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get("content-type"), "image/png");
    }
    const other = await toResult(await ctx.fetch(`/images/list_items%2F1%2F${hex}%2Epng`));
    assert.equal(other.status, 404, "only %2F is decoded");
  });

  test("trailing slash is the same route (reaches the content-type check)", async () => {
    const r = await ctx.put("{}", { path: ROUTE + "/", contentType: "text/plain" });
    expectStatus(r, 400, "invalid-content-type");
  });

  test("route without trailing slash reaches the content-type check", async () => {
    const r = await ctx.put("{}", { contentType: null });
    expectStatus(r, 400, "invalid-content-type");
  });

  test("OPTIONS on the route is a 204 preflight", async () => {
    const res = await ctx.fetch(ROUTE, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "PUT" },
    });
    await res.arrayBuffer();
    assert.equal(res.status, 204);
  });

  test("OPTIONS with a trailing slash is a 204 too", async () => {
    const res = await ctx.fetch(ROUTE + "/", { method: "OPTIONS" });
    await res.arrayBuffer();
    assert.equal(res.status, 204);
  });

  test("every response carries the envelope headers; request ids differ", async () => {
    const a = await ctx.put({ id: 1 }, { method: "GET" });
    const b = await ctx.put({ id: 1 }, { method: "GET" });
    expectStatus(a, 500, "route-non-existent");
    expectStatus(b, 500, "route-non-existent");
    assert.notEqual(a.headers.get("x-request-id"), b.headers.get("x-request-id"));
  });
});

describe("DISABLED_ROUTES", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { DISABLED_ROUTES: " some/other ,  list_items/upload_image " } });
  });
  after(() => ctx?.dispose());

  test("switched-off route -> 404 route-not-found (before the content type check)", async () => {
    const r = await ctx.put("not json", { contentType: "text/plain" });
    const body = expectStatus(r, 404, "route-not-found");
  });

  test("switched-off route with trailing slash -> 404 route-not-found", async () => {
    const r = await ctx.put({ id: 1 }, { path: ROUTE + "/" });
    expectStatus(r, 404, "route-not-found");
  });

  test("unknown route is still route-non-existent", async () => {
    const r = await ctx.put({ id: 1 }, { path: "/api/v1/nope" });
    expectStatus(r, 500, "route-non-existent");
  });
});

describe("DISABLED_ROUTES naming another route", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { DISABLED_ROUTES: "list_items/other,users/upload_image" } });
  });
  after(() => ctx?.dispose());

  test("the upload route stays on", async () => {
    const r = await ctx.put("{}", { contentType: "text/plain" });
    expectStatus(r, 400, "invalid-content-type");
  });
});

describe("DISABLED_ROUTES is not a string", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { DISABLED_ROUTES: 42 } });
  });
  after(() => ctx?.dispose());

  test("-> 500 identify-request-error", async () => {
    const r = await ctx.put({ id: 1 });
    expectStatus(r, 500, "identify-request-error");
  });
});

for (const missing of ["kv", "d1", "r2"]) {
  describe(`missing ${missing} binding`, () => {
    let ctx;
    before(async () => {
      ctx = await startWorker({ [missing]: false });
    });
    after(() => ctx?.dispose());

    test("-> 503 service-not-found, checked before the content type", async () => {
      const r = await ctx.put("x", { contentType: "text/plain" });
      expectStatus(r, 503, "service-not-found");
    });

    test("-> 503 service-not-found for a well-formed request", async () => {
      const r = await ctx.put({ token: "tok_0123456789abcdef0123456789abcdef", id: 1, image_url: "https://img.example.com/a.png" });
      expectStatus(r, 503, "service-not-found");
      assert.equal(ctx.origin.log.length, 0);
    });
  });
}
