// A panic must still answer with the envelope (API.md §2), never workerd's bare 500.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { Miniflare } from "miniflare";
import { ROOT, COMPAT_DATE, toResult, expectStatus } from "../support/harness.mjs";

test("an exception thrown by the worker becomes an application-crash envelope", async () => {
  const mf = new Miniflare({
    modules: true,
    modulesRoot: ROOT,
    scriptPath: path.join(ROOT, "tests", "support", "throwing_worker.mjs"),
    compatibilityDate: COMPAT_DATE,
    cf: false,
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
  } finally {
    await mf.dispose();
  }
});
