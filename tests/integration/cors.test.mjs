// Browser clients: CORS headers for ALLOWED_ORIGINS only (issue 3/4).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { expectStatus, startWorker } from "../support/harness.mjs";

const APP = "https://app.example.com";

describe("CORS with ALLOWED_ORIGINS", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { ALLOWED_ORIGINS: `${APP}, http://localhost:3000` } });
  });
  after(() => ctx?.dispose());

  const preflight = (origin) =>
    ctx.put(undefined, {
      method: "OPTIONS",
      contentType: null,
      headers: { origin, "access-control-request-method": "PUT", "access-control-request-headers": "content-type" },
    });

  test("preflight from an allowed origin: 204 with methods, headers, max age", async () => {
    const r = await preflight(APP);
    assert.equal(r.status, 204);
    assert.equal(r.headers.get("access-control-allow-origin"), APP);
    assert.match(r.headers.get("access-control-allow-methods"), /PUT/);
    assert.match(r.headers.get("access-control-allow-headers"), /Content-Type/i);
    assert.ok(Number(r.headers.get("access-control-max-age")) > 0);
    assert.match(r.headers.get("vary"), /Origin/);
  });

  test("preflight from another origin gets no CORS headers", async () => {
    const r = await preflight("https://evil.example.com");
    assert.equal(r.status, 204);
    for (const h of ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers"]) {
      assert.equal(r.headers.get(h), null, h);
    }
  });

  test("an envelope for an allowed origin carries Allow-Origin and Vary: Origin", async () => {
    const r = await ctx.put({}, { headers: { origin: APP } });
    expectStatus(r, 400, "no-params-decoded");
    assert.equal(r.headers.get("access-control-allow-origin"), APP);
    assert.match(r.headers.get("vary"), /Origin/);
    assert.match(r.headers.get("access-control-expose-headers"), /X-Request-Id/i);
  });

  test("an envelope for another origin has no CORS headers", async () => {
    const r = await ctx.put({}, { headers: { origin: "https://evil.example.com" } });
    expectStatus(r, 400, "no-params-decoded");
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    // A cache must not serve this answer to an allowed origin.
    assert.match(r.headers.get("vary") ?? "", /Origin/);
  });
});

describe("CORS off by default", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());

  test("no ALLOWED_ORIGINS: no CORS headers even for a preflight", async () => {
    const r = await ctx.put(undefined, { method: "OPTIONS", contentType: null, headers: { origin: APP } });
    assert.equal(r.status, 204);
    assert.equal(r.headers.get("access-control-allow-origin"), null);
  });
});
