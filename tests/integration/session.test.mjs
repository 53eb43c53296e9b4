// Step 5: token, session, user; last_used_at refresh.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  DAY, HOUR, MINUTE, assertSession, assertStored, expectStatus, fixture, isoFromNow, newToken,
  serve, sleep, startWorker, waitFor,
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

  // ---- last_used_at refresh -------------------------------------------------------------------
  test("last_used_at is refreshed after success, unknown fields preserved", async () => {
    const url = "https://img.example.com/session/refresh.png";
    const old = isoFromNow(-HOUR);
    const p = await ctx.prepare({
      url,
      handler: serve(PNG),
      session: { last_used_at: old, extra: { device: "iPhone", scopes: ["a", "b"], nested: { k: 1 } } },
    });
    const before = Date.now();
    const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    const updated = await waitFor(async () => {
      const v = await ctx.kv.get(p.kvKey);
      return v && JSON.parse(v).last_used_at !== old ? JSON.parse(v) : null;
    });
    assert.ok(updated, "last_used_at was refreshed in KV");
    const t = Date.parse(updated.last_used_at);
    assert.ok(!Number.isNaN(t), `last_used_at parses: ${updated.last_used_at}`);
    assert.ok(t >= before - 5000 && t <= Date.now() + 5000, `last_used_at ~ now: ${updated.last_used_at}`);
    const orig = JSON.parse(p.sessionJson);
    assert.equal(updated.id, orig.id);
    assert.equal(updated.user_id, orig.user_id);
    assert.equal(updated.created_at, orig.created_at);
    assert.equal(updated.remember_me, false);
    assert.equal(updated.device, "iPhone");
    assert.deepEqual(updated.scopes, ["a", "b"]);
    assert.deepEqual(updated.nested, { k: 1 });
  });

  test("last_used_at refreshed less than 5 minutes ago is left byte-identical", async () => {
    const url = "https://img.example.com/session/norefresh.png";
    const p = await ctx.prepare({ url, handler: serve(PNG), session: { last_used_at: isoFromNow(-MINUTE) } });
    const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
    await assertStored(ctx, r, { id: p.id, seeded: p, source: PNG, sourceUrl: url });
    await sleep(700);
    assert.equal(await ctx.kv.get(p.kvKey), p.sessionJson);
  });

  test("a rejected token does not touch KV", async () => {
    const s = await ctx.seedSession({ created_at: isoFromNow(-8 * DAY), last_used_at: isoFromNow(-HOUR) });
    const r = await probe(s.token);
    expectStatus(r, 401, "session-expired");
    await sleep(300);
    assert.equal(await ctx.kv.get(s.kvKey), s.sessionJson);
  });
});
