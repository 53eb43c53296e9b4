// The request log (issue 3/4): one JSON line per request with request id, route, status,
// data.reason, user id, list item id, bytes and timings, and never a token or a credential URL.
// The worker's console output is captured through Miniflare's structured logs.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { ROUTE, expectStatus, fixture, serve, startWorker, waitFor } from "../support/harness.mjs";

const PNG = fixture("sample.png");
const GIF = fixture("sample.gif");
const KEYS = ["request_id", "method", "route", "status", "http_status", "reason", "user_id", "list_item_id",
  "bytes", "streamed", "fetch_validate_ms", "r2_ms", "d1_ms", "total_ms", "wasm_memory_bytes"];

describe("request log line", () => {
  let ctx;
  let n = 0;
  before(async () => {
    ctx = await startWorker({ logs: true });
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  /** Sends with a fresh X-Request-Id; returns the response and the one log line carrying that id. */
  async function logged(send) {
    const requestId = `log-test-${++n}`;
    const r = await send({ "x-request-id": requestId });
    assert.equal(r.headers.get("x-request-id"), requestId);
    const mine = () => ctx.logs.filter((l) => l.message.includes(`"request_id":"${requestId}"`));
    await waitFor(() => mine().length > 0, { timeout: 5000 });
    const lines = mine();
    assert.equal(lines.length, 1, `one line for ${requestId}: ${JSON.stringify(lines)}`);
    assert.equal(lines[0].level, "log");
    assert.doesNotMatch(lines[0].message, /\n/, "a single line");
    const entry = JSON.parse(lines[0].message);
    for (const k of Object.keys(entry)) assert.ok(KEYS.includes(k), `unexpected log field ${k}`);
    assert.equal(typeof entry.total_ms, "number");
    return { r, entry, line: lines[0].message };
  }

  test("success: route, status, user, item, bytes and timings", async () => {
    const p = await ctx.prepare({ url: "https://img.example.com/log/ok.png", handler: serve(PNG) });
    const { r, entry } = await logged((headers) => ctx.put({ token: p.token, id: p.id, image_url: p.url }, { headers }));
    expectStatus(r, 200, "action-successful");
    assert.equal(entry.method, "PUT");
    assert.equal(entry.route, "list_items/upload_image");
    assert.equal(entry.status, "action-successful");
    assert.equal(entry.http_status, 200);
    assert.equal(entry.reason, undefined);
    assert.equal(entry.user_id, p.userId);
    assert.equal(entry.list_item_id, p.id);
    assert.equal(entry.bytes, PNG.length);
    assert.equal(entry.streamed, false);
    for (const k of ["fetch_validate_ms", "r2_ms", "d1_ms", "total_ms"]) assert.ok(entry[k] >= 0, `${k} ${entry[k]}`);
    assert.ok(entry.total_ms >= entry.fetch_validate_ms + entry.r2_ms + entry.d1_ms, "total covers the parts");
  });

  test("invalid-url: the reason is data.reason; the fetch was timed", async () => {
    const p = await ctx.prepare({ url: "https://img.example.com/log/a.gif", handler: serve(GIF) });
    const { r, entry } = await logged((headers) => ctx.put({ token: p.token, id: p.id, image_url: p.url }, { headers }));
    const body = expectStatus(r, 400, "invalid-url");
    assert.equal(entry.status, "invalid-url");
    assert.equal(entry.http_status, 400);
    assert.equal(entry.reason, body.data.reason);
    assert.equal(entry.user_id, p.userId);
    assert.equal(entry.list_item_id, p.id);
    assert.equal(entry.bytes, undefined);
    assert.ok(entry.fetch_validate_ms >= 0);
    assert.equal(entry.r2_ms, undefined);
    assert.equal(entry.d1_ms, undefined);
  });

  test("invalid-url with an upstream status: reason upstream-status", async () => {
    const p = await ctx.prepare({ url: "https://img.example.com/log/missing.png", handler: (req, res) => { res.writeHead(404); res.end(); } });
    const { r, entry } = await logged((headers) => ctx.put({ token: p.token, id: p.id, image_url: p.url }, { headers }));
    expectStatus(r, 400, "invalid-url");
    assert.equal(entry.reason, "upstream-status");
  });

  test("invalid-param names the param and the reason", async () => {
    const p = await ctx.prepare();
    const { r, entry } = await logged((headers) => ctx.put({ token: p.token, id: p.id + 1_000_000, image_url: "https://img.example.com/x.png" }, { headers }));
    expectStatus(r, 400, "invalid-param");
    assert.equal(entry.reason, "id:not-found");
    assert.equal(entry.user_id, p.userId);
  });

  test("no token, session token, credential URL or signed query ever reaches the log", async () => {
    const p = await ctx.prepare({ url: "https://img.example.com/log/signed.png?X-Amz-Signature=sig0123456789secret", handler: serve(PNG) });
    const sends = [
      // Token in the body, a signed image URL.
      (headers) => ctx.put({ token: p.token, id: p.id, image_url: p.url }, { headers }),
      // Token as a query param and as a bearer header.
      (headers) => ctx.put({ id: p.id, image_url: p.url }, { headers, query: { token: p.token } }),
      (headers) => ctx.put({ id: p.id, image_url: p.url }, { headers: { ...headers, authorization: `Bearer ${p.token}` } }),
      // A URL with credentials (refused as invalid-param) and an unknown token.
      (headers) => ctx.put({ token: p.token, id: p.id, image_url: "https://user:hunter2secret@img.example.com/x.png" }, { headers }),
      (headers) => ctx.put({ token: "tok_unknownsecret0123456789", id: p.id, image_url: p.url }, { headers }),
    ];
    const statuses = [];
    for (const send of sends) {
      const { entry } = await logged(send);
      statuses.push(entry.status);
    }
    assert.deepEqual(statuses, ["action-successful", "action-successful", "action-successful", "invalid-param", "invalid-token"]);
    const all = ctx.logs.map((l) => l.message).join("\n");
    for (const secret of [p.token, "tok_unknownsecret0123456789", "hunter2secret", "sig0123456789secret", "img.example.com"]) {
      assert.ok(!all.includes(secret), `log holds ${secret}`);
    }
  });

  test("session-expired and client-required still name the user; an unknown image key logs not-found", async () => {
    const eightDaysAgo = new Date(Date.now() - 8 * 86400_000).toISOString().replace(/\.\d+Z$/, "Z");
    const expired = await ctx.prepare({ session: { created_at: eightDaysAgo } });
    const a = await logged((headers) => ctx.put({ token: expired.token, id: expired.id, image_url: "https://x.example/a.png" }, { headers }));
    expectStatus(a.r, 401, "session-expired");
    assert.equal(a.entry.user_id, expired.userId);
    const noRole = await ctx.prepare({ session: { user: { client_id: null, employee_id: null, liaison_id: null } } });
    const b = await logged((headers) => ctx.put({ token: noRole.token, id: noRole.id, image_url: "https://x.example/a.png" }, { headers }));
    expectStatus(b.r, 401, "client-required");
    assert.equal(b.entry.user_id, noRole.userId);
    const c = await logged((headers) => ctx.fetch(`/images/list_items/1/${"0".repeat(32)}.png`, { headers }));
    assert.equal(c.r.status, 404);
    assert.equal(c.entry.reason, "not-found");
  });

  test("invalid-token: no user; an unknown route: no route", async () => {
    const a = await logged((headers) => ctx.put({ token: "tok_0123456789abcdef0123", id: 1, image_url: "https://x.example/a.png" }, { headers }));
    expectStatus(a.r, 401, "invalid-token");
    assert.equal(a.entry.route, "list_items/upload_image");
    assert.equal(a.entry.status, "invalid-token");
    assert.equal(a.entry.reason, "unknown token");
    assert.equal(a.entry.user_id, undefined);
    const b = await logged((headers) => ctx.put({}, { headers, method: "POST", path: ROUTE }));
    expectStatus(b.r, 500, "route-non-existent");
    assert.equal(b.entry.route, null);
    assert.equal(b.entry.status, "route-non-existent");
    assert.equal(b.entry.http_status, 500);
  });
});
