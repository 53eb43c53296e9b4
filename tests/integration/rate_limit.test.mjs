// Per-user upload rate limit (API.md §3 step 5b): the rate limiter UPLOAD_LIMITER, keyed by user
// id, counts every request that passes the session check; over the limit: 429 rate-limited with
// Retry-After: 60. Without the binding there is no limit.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DAY, expectStatus, fixture, isoFromNow, serve, sleep, startWorker } from "../support/harness.mjs";

const LIMIT = 30; // wrangler.toml: simple = { limit = 30, period = 60 }

// Miniflare's limiter counts in fixed windows of the wall clock's minutes: start a burst early
// in one so that it cannot straddle two.
async function freshWindow() {
  const into = Date.now() % 60_000;
  if (into > 40_000) await sleep(60_000 - into + 50);
}

/** A request that passes the session check and then fails on its params (no `id`): it counts. */
const counted = (ctx, token) => ctx.put({ token, image_url: "https://img.example.com/a.png" });

describe("rate limit: UPLOAD_LIMITER at 30 per minute", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ uploadLimit: LIMIT, logs: true });
  });
  after(() => ctx?.dispose());

  test("the 31st upload of a user within a minute is rate-limited; another user is unaffected", async () => {
    const limited = await ctx.prepare();
    const other = await ctx.prepare({ url: "https://img.example.com/other.png", handler: serve(fixture("png-rgb-pillow.png")) });
    await freshWindow();
    for (let i = 0; i < LIMIT; i++) expectStatus(await counted(ctx, limited.token), 400, "missing-param");

    const r = await ctx.put({ token: limited.token, id: limited.id, image_url: "https://img.example.com/never.png" }, { headers: { "x-request-id": "rl-31st" } });
    const body = expectStatus(r, 429, "rate-limited");
    assert.equal(r.headers.get("retry-after"), "60");
    assert.deepEqual(body.data, { retry_after: 60 });
    assert.match(body.message, /try again in a minute/);
    assert.equal(body.session, undefined);
    assert.deepEqual(ctx.origin.log, [], "no fetch is started for a limited user");
    assert.equal((await ctx.getRow(limited.id)).image_key, null);

    const line = ctx.logs.map((l) => l.message).find((m) => m.includes('"request_id":"rl-31st"'));
    assert.ok(line, "the request's log line");
    const entry = JSON.parse(line);
    assert.equal(entry.status, "rate-limited");
    assert.equal(entry.http_status, 429);
    assert.equal(entry.user_id, limited.userId);

    const ok = await ctx.put({ token: other.token, id: other.id, image_url: other.url });
    expectStatus(ok, 200, "action-successful");
    // Only the rate-limited answer carries Retry-After.
    assert.equal(ok.headers.get("retry-after"), null);
  });

  test("requests that fail the session check do not count", async () => {
    const expired = await ctx.seedSession({ created_at: isoFromNow(-8 * DAY), last_used_at: isoFromNow(-8 * DAY) });
    const valid = await ctx.seedSession({ userId: expired.userId });
    await freshWindow();
    for (let i = 0; i < LIMIT + 5; i++) {
      expectStatus(await counted(ctx, expired.token), 401, "session-expired");
      expectStatus(await counted(ctx, "tok_unknown_0123456789abcdef"), 401, "invalid-token");
    }
    for (let i = 0; i < LIMIT; i++) expectStatus(await counted(ctx, valid.token), 400, "missing-param");
    expectStatus(await counted(ctx, valid.token), 429, "rate-limited");
  });
});

test("without the UPLOAD_LIMITER binding there is no limit", async () => {
  const ctx = await startWorker({ uploadLimit: null, logs: true });
  try {
    const { token } = await ctx.seedSession();
    await freshWindow();
    for (let i = 0; i < LIMIT + 10; i++) expectStatus(await counted(ctx, token), 400, "missing-param");
  } finally {
    await ctx.dispose();
  }
});

test("a limiter that fails lets the upload through (fail open) and logs why", async () => {
  // Not a rate limiter at all: every call to it fails.
  const ctx = await startWorker({ uploadLimit: null, vars: { UPLOAD_LIMITER: "misconfigured" }, logs: true });
  try {
    const { token, userId } = await ctx.seedSession();
    for (let i = 0; i < LIMIT + 1; i++) expectStatus(await counted(ctx, token), 400, "missing-param");
    const failures = ctx.logs.map((l) => l.message).filter((m) => m.includes('"event":"rate-limiter-failed"'));
    assert.equal(failures.length, LIMIT + 1);
    assert.equal(JSON.parse(failures[0]).user_id, userId);
  } finally {
    await ctx.dispose();
  }
});
