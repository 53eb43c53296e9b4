// Numeric vars have sane ranges (README, "Configuration"): a value outside its range is a
// misconfigured deployment, answered application-crash and logged, never a limit nobody chose
// (a timeout past i32::MAX ms used to wrap to an immediate time-out).
import assert from "node:assert/strict";
import { test } from "node:test";
import { expectStatus, fixture, serve, startWorker, waitFor } from "../support/harness.mjs";

const PNG = fixture("sample.png");

for (const [name, value] of [
  ["FETCH_TIMEOUT_MS", "2147483648"],
  ["FETCH_TIMEOUT_MS", 4294967296], // a TOML number, not a string
  ["MAX_REDIRECTS", "21"],
  ["MAX_IMAGE_BYTES", "0"],
  ["STORE_TIMEOUT_MS", "300001"],
  ["UPLOAD_TIMEOUT_MS", "-1"],
  ["MAX_IMAGE_SIDE", "ten"],
]) {
  test(`${name}=${JSON.stringify(value)} -> 500 application-crash, logged, nothing fetched`, async () => {
    const ctx = await startWorker({ vars: { [name]: value }, logs: true });
    try {
      const url = "https://img.example.com/config/a.png";
      const p = await ctx.prepare({ url, handler: serve(PNG) });
      const r = await ctx.put({ token: p.token, id: p.id, image_url: url }, { headers: { "x-request-id": `config-${name}` } });
      const body = expectStatus(r, 500, "application-crash");
      assert.ok(!JSON.stringify(body).includes(name), "the detail stays in the log");
      assert.equal(ctx.origin.log.length, 0);
      const line = await waitFor(() => ctx.logs.find((l) => l.message.includes(`"request_id":"config-${name}"`)), { timeout: 5000 });
      assert.ok(line, "logged");
      const entry = JSON.parse(line.message);
      assert.equal(entry.status, "application-crash");
      assert.match(entry.reason, new RegExp(`var ${name} `));
    } finally {
      await ctx.dispose();
    }
  });
}

test("every numeric var at the edge of its range is accepted", async () => {
  const ctx = await startWorker({
    vars: {
      MAX_IMAGE_BYTES: "1073741824", MAX_IMAGE_SIDE: "65535", MAX_IMAGE_PIXELS: "1000000000", FETCH_TIMEOUT_MS: "300000",
      STORE_TIMEOUT_MS: "300000", UPLOAD_TIMEOUT_MS: "900000", MAX_REDIRECTS: "0",
    },
  });
  try {
    const url = "https://img.example.com/config/edge.png";
    const p = await ctx.prepare({ url, handler: serve(PNG) });
    expectStatus(await ctx.put({ token: p.token, id: p.id, image_url: url }), 200, "action-successful");
  } finally {
    await ctx.dispose();
  }
});
