// Step 5: token, session, user; activity (session_seen), never a write of the session record.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  DAY, HOUR, MINUTE, assertSession, assertStored, expectStatus, fixture, isoFromNow, newToken,
  serve, sha256, sleep, startWorker, waitFor,
} from "../support/harness.mjs";

const PNG = fixture("sample.png");

describe("session", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  // A request whose params fail (missing image_url) shows the session passed (step 5 < step 6).
  const probe = (token, extra = {}) => ctx.put({ token, id: 1, ...extra });

  test("valid token param -> success with the session view", async () => {
    const url = "https://img.example.com/session/ok.png";
    const p = await ctx.prepare({ url, handler: serve(PNG) });
    const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
    const body = await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    assert.equal(body.session.created_at.length > 0, true);
  });

  test("Authorization: Bearer token -> success", async () => {
    const url = "https://img.example.com/session/bearer.png";
    const p = await ctx.prepare({ url, handler: serve(PNG) });
    const r = await ctx.put({ id: p.id, image_url: url }, { headers: { authorization: `Bearer ${p.token}` } });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
  });

  test("the token param wins over the Authorization header", async () => {
    const s = await ctx.seedSession();
    const r = await ctx.put({ token: s.token, id: 1 }, { headers: { authorization: `Bearer ${newToken()}` } });
    expectStatus(r, 400, "missing-param");
  });

  test("an unknown token param is not rescued by a valid Authorization header", async () => {
    const s = await ctx.seedSession();
    const r = await ctx.put({ token: newToken(), id: 1 }, { headers: { authorization: `Bearer ${s.token}` } });
    expectStatus(r, 401, "invalid-token");
  });

  test("no token at all -> 401 invalid-token", async () => {
    const id = await ctx.seedItem();
    const r = await ctx.put({ id, image_url: "https://img.example.com/a.png" });
    const body = expectStatus(r, 401, "invalid-token");
    assert.equal(ctx.origin.log.length, 0);
  });

  test("Authorization header that is not Bearer -> 401 invalid-token", async () => {
    const s = await ctx.seedSession();
    const r = await ctx.put({ id: 1 }, { headers: { authorization: `Basic ${s.token}` } });
    expectStatus(r, 401, "invalid-token");
  });

  for (const [name, token] of [
    ["15 chars", "tok_0123456789a"],
    ["513 chars", "t".repeat(513)],
    ["a space", "tok_0123456789 abcdef0123456789abcdef"],
    ["a forbidden char", "tok_0123456789abcdef$0123456789abcdef"],
    ["non-ASCII", "tok_0123456789abcdéf0123456789abcdef"],
    ["a number", 12345678901234567890],
    ["an object", { t: "tok_0123456789abcdef0123456789abcdef" }],
    ["an array", ["tok_0123456789abcdef0123456789abcdef"]],
    ["true", true],
    ["empty string", ""],
  ]) {
    test(`malformed token (${name}) -> 401 invalid-token`, async () => {
      const r = await ctx.put({ token, id: 1, image_url: "https://img.example.com/a.png" });
      expectStatus(r, 401, "invalid-token");
    });
  }

  test("a 16-char and a 512-char token of the allowed alphabet are accepted", async () => {
    for (const token of ["Ab0._~+/=-abcdef", "A".repeat(500) + "._~+/=-0123z"]) {
      assert.ok(token.length === 16 || token.length === 512);
      await ctx.seedSession({ token });
      const r = await probe(token);
      expectStatus(r, 400, "missing-param");
    }
  });

  test("well-formed unknown token -> 401 invalid-token", async () => {
    const r = await probe(newToken());
    expectStatus(r, 401, "invalid-token");
  });

  test("session record that is not JSON -> 401 invalid-token", async () => {
    const s = await ctx.seedSession({ rawSession: "{not json" });
    const r = await probe(s.token);
    expectStatus(r, 401, "invalid-token");
  });

  test("session record with the wrong shape -> 401 invalid-token", async () => {
    const s = await ctx.seedSession({ rawSession: JSON.stringify(["a", 1]) });
    const r = await probe(s.token);
    expectStatus(r, 401, "invalid-token");
  });

  test("session record with an unparseable timestamp -> 401 invalid-token", async () => {
    const s = await ctx.seedSession({ created_at: "yesterday" });
    const r = await probe(s.token);
    expectStatus(r, 401, "invalid-token");
  });

  test("token in the query string with a JSON body is used", async () => {
    const s = await ctx.seedSession();
    const r = await ctx.put({ id: 1 }, { query: { token: s.token } });
    expectStatus(r, 400, "missing-param");
  });

  for (const field of ["created_at", "last_used_at", "user_id"]) {
    test(`session record without ${field} -> 401 invalid-token`, async () => {
      const s = await ctx.seedSession();
      const rec = JSON.parse(s.sessionJson);
      delete rec[field];
      await ctx.kv.put(s.kvKey, JSON.stringify(rec));
      const r = await probe(s.token);
      expectStatus(r, 401, "invalid-token");
    });
  }

  test("session record with remember_me as a string -> 401 invalid-token (or at least never a crash)", async () => {
    const s = await ctx.seedSession();
    const rec = JSON.parse(s.sessionJson);
    rec.remember_me = "yes";
    await ctx.kv.put(s.kvKey, JSON.stringify(rec));
    const r = await probe(s.token);
    expectStatus(r, 401, "invalid-token");
  });

  test("session record that is a JSON array of plausible values -> 401 invalid-token", async () => {
    const s = await ctx.seedSession();
    const rec = JSON.parse(s.sessionJson);
    await ctx.kv.put(s.kvKey, JSON.stringify([rec.id, rec.user_id, rec.created_at, rec.last_used_at, false]));
    const r = await probe(s.token);
    expectStatus(r, 401, "invalid-token");
  });

  test("user record that is a JSON array -> 401 invalid-token", async () => {
    const s = await ctx.seedSession({ rawUser: "[1,2,3]" });
    const r = await probe(s.token);
    expectStatus(r, 401, "invalid-token");
  });

  test("user record missing -> 401 invalid-token", async () => {
    const s = await ctx.seedSession({ user: null });
    const r = await probe(s.token);
    expectStatus(r, 401, "invalid-token");
  });

  test("user record not JSON -> 401 invalid-token", async () => {
    const s = await ctx.seedSession({ rawUser: "<<garbage>>" });
    const r = await probe(s.token);
    expectStatus(r, 401, "invalid-token");
  });

  test("order: invalid-token beats a missing id", async () => {
    const r = await ctx.put({ token: newToken(), image_url: "https://img.example.com/a.png" });
    expectStatus(r, 401, "invalid-token");
  });

  // ---- expiry ---------------------------------------------------------------------------------
  for (const [name, s, expected] of [
    ["created 7d - 1min ago", { created_at: isoFromNow(-7 * DAY + MINUTE), last_used_at: isoFromNow(-HOUR) }, "ok"],
    ["created 7d + 1min ago", { created_at: isoFromNow(-7 * DAY - MINUTE), last_used_at: isoFromNow(-HOUR) }, "expired"],
    ["last used 72h - 1min ago", { created_at: isoFromNow(-4 * DAY), last_used_at: isoFromNow(-72 * HOUR + MINUTE) }, "ok"],
    ["last used 72h + 1min ago", { created_at: isoFromNow(-4 * DAY), last_used_at: isoFromNow(-72 * HOUR - MINUTE) }, "expired"],
    ["remember_me, created 400d / used 300d ago", { remember_me: true, created_at: isoFromNow(-400 * DAY), last_used_at: isoFromNow(-300 * DAY) }, "ok"],
  ]) {
    test(`session ${name} -> ${expected}`, async () => {
      const seeded = await ctx.seedSession(s);
      const r = await probe(seeded.token);
      if (expected === "ok") {
        expectStatus(r, 400, "missing-param");
      } else {
        const body = expectStatus(r, 401, "session-expired");
      }
    });
  }

  test("order: session-expired beats missing params and an unknown item", async () => {
    const seeded = await ctx.seedSession({ created_at: isoFromNow(-10 * DAY), last_used_at: isoFromNow(-10 * DAY) });
    const r = await ctx.put({ token: seeded.token, id: 987654321 });
    expectStatus(r, 401, "session-expired");
  });

  test("remember_me session succeeds with expires_at null", async () => {
    const url = "https://img.example.com/session/remember.png";
    const p = await ctx.prepare({
      url,
      handler: serve(PNG),
      session: { remember_me: true, created_at: isoFromNow(-400 * DAY), last_used_at: isoFromNow(-300 * DAY) },
    });
    const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
    const body = await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    assert.equal(body.session.expires_at, null);
    assert.equal(body.session.remember_me, true);
  });

  // ---- client-required ------------------------------------------------------------------------
  test("user without client/employee/liaison -> 401 client-required with the session", async () => {
    const s = await ctx.seedSession({ user: { client_id: null, employee_id: null, liaison_id: null } });
    const id = await ctx.seedItem();
    const r = await ctx.put({ token: s.token, id, image_url: "https://img.example.com/a.png" });
    const body = expectStatus(r, 401, "client-required");
    assertSession(body.session, s);
    assert.equal(ctx.origin.log.length, 0);
  });

  test("user record without any of the three fields -> 401 client-required", async () => {
    const s = await ctx.seedSession({ rawUser: undefined, user: { client_id: undefined } });
    // rewrite the user without the keys at all
    await ctx.kv.put(`user:${s.userId}`, JSON.stringify({ id: s.userId, email: "x@example.com" }));
    const r = await probe(s.token);
    const body = expectStatus(r, 401, "client-required");
    assertSession(body.session, s);
  });

  test("order: client-required beats missing params", async () => {
    const s = await ctx.seedSession({ user: { client_id: null } });
    const r = await ctx.put({ token: s.token });
    expectStatus(r, 401, "client-required");
  });

  for (const field of ["employee_id", "liaison_id"]) {
    test(`user with only ${field} passes`, async () => {
      const s = await ctx.seedSession({ user: { client_id: null, [field]: 9 } });
      const r = await probe(s.token);
      expectStatus(r, 400, "missing-param");
    });
  }

  // ---- activity: session_seen:<hash>, never the session record -------------------------------
  const seenKey = (token) => `session_seen:${sha256(token)}`;
  const seenRecord = async (token) => {
    const { keys } = await ctx.kv.list({ prefix: seenKey(token) });
    const value = await ctx.kv.get(seenKey(token));
    return keys.length ? { value: JSON.parse(value), expiration: keys[0].expiration } : null;
  };
  const seedSeen = (token, last_used_at, raw) =>
    ctx.kv.put(seenKey(token), raw ?? JSON.stringify({ last_used_at }), { expirationTtl: 72 * 3600 });
  /** The stored session: value, expiration and metadata. */
  const storedSession = async (kvKey) => {
    const { keys } = await ctx.kv.list({ prefix: kvKey });
    const { value, metadata } = await ctx.kv.getWithMetadata(kvKey);
    return { value, metadata, expiration: keys[0]?.expiration };
  };

  test("activity goes to session_seen with a 72 h TTL; the view shows this request's time", async () => {
    const s = await ctx.seedSession({ last_used_at: isoFromNow(-HOUR) });
    const before = Date.now();
    const r = await probe(s.token);
    expectStatus(r, 400, "missing-param");
    const seen = await waitFor(() => seenRecord(s.token));
    assert.ok(seen, "session_seen written");
    assert.deepEqual(Object.keys(seen.value), ["last_used_at"]);
    const t = Date.parse(seen.value.last_used_at);
    assert.match(seen.value.last_used_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    assert.ok(t >= before - 2000 && t <= Date.now() + 1000, `last_used_at ~ now: ${seen.value.last_used_at}`);
    const ttl = seen.expiration - Date.now() / 1000;
    assert.ok(Math.abs(ttl - 259200) < 30, `expirationTtl 259200, got ${ttl}`);
    assert.equal(await ctx.kv.get(s.kvKey), s.sessionJson, "the session record is not rewritten");
  });

  test("a successful upload shows this request's time as last_used_at when it records activity", async () => {
    const url = "https://img.example.com/session/activity.png";
    const p = await ctx.prepare({ url, handler: serve(PNG), session: { created_at: isoFromNow(-DAY), last_used_at: isoFromNow(-HOUR) } });
    const before = Date.now();
    const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
    const body = await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    const shown = Date.parse(body.session.last_used_at);
    assert.ok(shown >= before - 2000 && shown <= Date.now() + 1000, body.session.last_used_at);
    assert.equal(Date.parse(body.session.expires_at), shown + 72 * HOUR);
    const seen = await waitFor(() => seenRecord(p.token));
    assert.equal(seen.value.last_used_at, body.session.last_used_at);
  });

  test("the session record is never rewritten: value, expiration and metadata survive many requests", async () => {
    const url = "https://img.example.com/session/untouched.png";
    const p = await ctx.prepare({ url, handler: serve(PNG), session: { last_used_at: isoFromNow(-2 * HOUR), extra: { device: "iPhone" } } });
    const expiration = Math.floor(Date.now() / 1000) + 7 * 24 * 3600;
    const metadata = { owner: "auth-service", version: 3 };
    await ctx.kv.put(p.kvKey, p.sessionJson, { expiration, metadata });
    const seeded = await storedSession(p.kvKey);
    assert.deepEqual(seeded, { value: p.sessionJson, metadata, expiration });
    await assertStored(ctx, await ctx.put({ token: p.token, id: p.id, image_url: url }), { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    for (let i = 0; i < 5; i++) expectStatus(await probe(p.token), 400, "missing-param");
    await waitFor(() => seenRecord(p.token));
    await ctx.kv.delete(seenKey(p.token)); // activity due again: still only session_seen is written
    expectStatus(await probe(p.token), 400, "missing-param");
    await waitFor(() => seenRecord(p.token));
    await sleep(300);
    assert.deepEqual(await storedSession(p.kvKey), seeded);
  });

  test("a session deleted (logout) while a request is in flight stays deleted", async () => {
    const url = "https://img.example.com/session/logout-race.png";
    const p = await ctx.prepare({ url, session: { last_used_at: isoFromNow(-HOUR) } });
    // The auth service deletes the session while the worker is fetching the image.
    ctx.origin.route(url, async (req, res) => {
      await ctx.kv.delete(p.kvKey);
      await sleep(200);
      await serve(PNG)(req, res);
    });
    const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
    expectStatus(r, 200, "action-successful"); // it was authenticated before the logout
    await waitFor(() => seenRecord(p.token));
    await sleep(300); // anything left under waitUntil has run
    assert.equal(await ctx.kv.get(p.kvKey), null, "the deleted session was not recreated");
    expectStatus(await probe(p.token), 401, "invalid-token");
    expectStatus(await ctx.put({ token: p.token, id: p.id, image_url: url }), 401, "invalid-token");
  });

  test("a logout racing many in-flight requests stays deleted", async () => {
    for (const delayMs of [0, 5, 20]) {
      const s = await ctx.seedSession({ last_used_at: isoFromNow(-HOUR) });
      // Each request reads the session and may record activity while the auth service deletes it.
      const inFlight = Array.from({ length: 12 }, () => probe(s.token));
      await sleep(delayMs);
      await ctx.kv.delete(s.kvKey);
      for (const r of await Promise.all(inFlight)) assert.ok([400, 401].includes(r.status), `${r.status} ${r.text}`);
      await sleep(300);
      assert.equal(await ctx.kv.get(s.kvKey), null, `recreated (logout after ${delayMs} ms)`);
      expectStatus(await probe(s.token), 401, "invalid-token");
    }
  });

  test("activity is recorded at most once per 5 minutes", async () => {
    const s = await ctx.seedSession({ last_used_at: isoFromNow(-HOUR) });
    expectStatus(await probe(s.token), 400, "missing-param");
    const first = await waitFor(() => seenRecord(s.token));
    assert.ok(first);
    await sleep(1100); // a second write would carry a later second and a later expiration
    for (let i = 0; i < 3; i++) expectStatus(await probe(s.token), 400, "missing-param");
    await sleep(300);
    assert.deepEqual(await seenRecord(s.token), first);
  });

  test("a session_seen under 5 minutes old is not rewritten, even with an old record", async () => {
    const s = await ctx.seedSession({ last_used_at: isoFromNow(-2 * HOUR) });
    await seedSeen(s.token, isoFromNow(-4 * MINUTE));
    const seeded = await seenRecord(s.token);
    expectStatus(await probe(s.token), 400, "missing-param");
    await sleep(300);
    assert.deepEqual(await seenRecord(s.token), seeded);
  });

  test("a record last used under 5 minutes ago writes nothing", async () => {
    const s = await ctx.seedSession({ last_used_at: isoFromNow(-MINUTE) });
    expectStatus(await probe(s.token), 400, "missing-param");
    await sleep(300);
    assert.equal(await seenRecord(s.token), null);
    assert.equal(await ctx.kv.get(s.kvKey), s.sessionJson);
  });

  test("client-required records no activity and shows the stored later last_used_at", async () => {
    const s = await ctx.seedSession({ last_used_at: isoFromNow(-2 * HOUR), user: { client_id: null } });
    const seenAt = isoFromNow(-HOUR);
    await seedSeen(s.token, seenAt);
    const seeded = await seenRecord(s.token);
    const body = expectStatus(await probe(s.token), 401, "client-required");
    assert.equal(body.session.last_used_at, seenAt);
    await sleep(300);
    assert.deepEqual(await seenRecord(s.token), seeded);
    const fresh = await ctx.seedSession({ last_used_at: isoFromNow(-2 * HOUR), user: { client_id: null } });
    expectStatus(await probe(fresh.token), 401, "client-required");
    await sleep(300);
    assert.equal(await seenRecord(fresh.token), null);
  });

  // The idle rule (72 h) reads the later of the record's last_used_at and session_seen.
  for (const [name, recordUsed, seen, expected] of [
    ["record idle 73 h, seen 1 h ago", -73 * HOUR, isoFromNow(-HOUR), "ok"],
    ["record used 1 h ago, seen 73 h ago", -HOUR, isoFromNow(-73 * HOUR), "ok"],
    ["both idle over 72 h", -74 * HOUR, isoFromNow(-73 * HOUR), "expired"],
    ["record idle 73 h, seen in the future", -73 * HOUR, isoFromNow(HOUR), "expired"],
    ["record idle 73 h, seen far in the future", -73 * HOUR, "9999-12-31T23:59:59Z", "expired"],
    ["record idle 73 h, seen unparseable", -73 * HOUR, "yesterday", "expired"],
  ]) {
    test(`idle rule: ${name} -> ${expected}`, async () => {
      const s = await ctx.seedSession({ created_at: isoFromNow(-4 * DAY), last_used_at: isoFromNow(recordUsed) });
      await seedSeen(s.token, seen);
      const r = await probe(s.token);
      if (expected === "ok") expectStatus(r, 400, "missing-param");
      else expectStatus(r, 401, "session-expired");
    });
  }

  for (const raw of ["{not json", "[]", '"2026-11-27T09:00:00Z"', '{"last_used_at": 1795168800}']) {
    test(`a session_seen value ${raw} is ignored`, async () => {
      const s = await ctx.seedSession({ created_at: isoFromNow(-4 * DAY), last_used_at: isoFromNow(-73 * HOUR) });
      await seedSeen(s.token, null, raw);
      expectStatus(await probe(s.token), 401, "session-expired");
    });
  }

  test("the view's last_used_at and expires_at follow the later session_seen", async () => {
    const s = await ctx.seedSession({ created_at: isoFromNow(-DAY), last_used_at: isoFromNow(-3 * HOUR), user: { client_id: null } });
    const seenAt = isoFromNow(-2 * MINUTE);
    await seedSeen(s.token, seenAt);
    const body = expectStatus(await probe(s.token), 401, "client-required");
    assert.equal(body.session.last_used_at, seenAt);
    assert.equal(Date.parse(body.session.expires_at), Date.parse(seenAt) + 72 * HOUR);
  });

  // ---- the user must be the session's user; timestamps must not lie in the future ---------------
  test("user record of another user -> 401 invalid-token", async () => {
    const s = await ctx.seedSession();
    await ctx.kv.put(`user:${s.userId}`, JSON.stringify({ id: s.userId + 1, client_id: 5 }));
    expectStatus(await probe(s.token), 401, "invalid-token");
  });

  for (const [name, id] of [["a digit string", (u) => String(u)], ["a number", (u) => u]]) {
    test(`user id as ${name} equal to user_id passes`, async () => {
      const s = await ctx.seedSession();
      await ctx.kv.put(`user:${s.userId}`, JSON.stringify({ id: id(s.userId), client_id: 5 }));
      expectStatus(await probe(s.token), 400, "missing-param");
    });
  }

  for (const [name, id] of [["a float", (u) => u + 0.5], ["a non-digit string", (u) => `${u}a`], ["null", () => null], ["absent", () => undefined]]) {
    test(`user id ${name} -> 401 invalid-token`, async () => {
      const s = await ctx.seedSession();
      await ctx.kv.put(`user:${s.userId}`, JSON.stringify({ id: id(s.userId), client_id: 5 }));
      expectStatus(await probe(s.token), 401, "invalid-token");
    });
  }

  for (const [name, fields] of [
    ["created_at in year 9999", { created_at: "9999-12-31T23:59:59Z", last_used_at: isoFromNow(-HOUR) }],
    ["created_at 10 minutes ahead", { created_at: isoFromNow(10 * MINUTE), last_used_at: isoFromNow(-HOUR) }],
    ["last_used_at 6 minutes ahead", { created_at: isoFromNow(-HOUR), last_used_at: isoFromNow(6 * MINUTE) }],
    ["remember_me, created_at in year 9999", { remember_me: true, created_at: "9999-01-01T00:00:00Z", last_used_at: "9999-01-01T00:00:00Z" }],
  ]) {
    test(`session ${name} -> 401 invalid-token`, async () => {
      const s = await ctx.seedSession(fields);
      expectStatus(await probe(s.token), 401, "invalid-token");
      await sleep(200);
      assert.equal(await seenRecord(s.token), null);
    });
  }

  test("timestamps up to 5 minutes ahead (clock skew) are accepted", async () => {
    const s = await ctx.seedSession({ created_at: isoFromNow(4 * MINUTE), last_used_at: isoFromNow(4 * MINUTE), user: { client_id: null } });
    const body = expectStatus(await probe(s.token), 401, "client-required");
    assertSession(body.session, s);
  });

  test("a rejected token does not touch KV", async () => {
    const s = await ctx.seedSession({ created_at: isoFromNow(-8 * DAY), last_used_at: isoFromNow(-HOUR) });
    const r = await probe(s.token);
    expectStatus(r, 401, "session-expired");
    await sleep(300);
    assert.equal(await ctx.kv.get(s.kvKey), s.sessionJson);
    assert.equal(await seenRecord(s.token), null);
  });
});
