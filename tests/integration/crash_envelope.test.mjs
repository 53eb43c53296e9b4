// A panic must still answer with the envelope (API.md §2), never workerd's bare 500.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Miniflare } from "miniflare";
import { ROOT, COMPAT, toResult, expectStatus, waitFor } from "../support/harness.mjs";

test("an exception thrown by the worker becomes an application-crash envelope, logged with its request id", async () => {
  const logs = [];
  const mf = new Miniflare({
    modules: true,
    modulesRoot: ROOT,
    scriptPath: path.join(ROOT, "tests", "support", "throwing_worker.mjs"),
    ...COMPAT,
    cf: false,
    handleStructuredLogs: (entry) => void logs.push(entry),
  });
  try {
    const r = await toResult(
      await mf.dispatchFetch("https://worker.test/api/v1/list_items/upload_image", {
        method: "PUT",
        headers: { "x-request-id": "crash-test-1" },
      }),
    );
    expectStatus(r, 500, "application-crash");
    assert.equal(r.headers.get("x-request-id"), "crash-test-1");
    assert.doesNotMatch(r.text, /secret|unreachable/);
    const line = await waitFor(() => logs.find((l) => l.message.includes('"request_id":"crash-test-1"')), { timeout: 5000 });
    assert.ok(line, `a log line for the request: ${JSON.stringify(logs)}`);
    assert.equal(line.level, "error");
    const entry = JSON.parse(line.message);
    assert.equal(entry.event, "unhandled-exception");
    assert.equal(entry.method, "PUT");
    assert.equal(entry.status, "application-crash");
    assert.equal(entry.http_status, 500);
    assert.match(entry.error, /unreachable executed/, "the detail goes to the log, not the client");
  } finally {
    await mf.dispose();
  }
});
