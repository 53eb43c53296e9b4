// The production deploy path works offline: wrangler builds, bundles the shim with the wasm,
// and resolves every binding of the production environment (issue 3/4).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { ROOT } from "../support/harness.mjs";

test("wrangler deploy --dry-run --env production succeeds offline", { timeout: 300_000 }, async () => {
  const outdir = mkdtempSync(path.join(tmpdir(), "dry-run-"));
  try {
    const { stdout } = await promisify(execFile)(
      path.join(ROOT, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--env", "production", "--outdir", outdir],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 16 * 1024 * 1024 },
    );
    for (const binding of ["env.SESSIONS", "env.DB", "env.IMAGES", "env.MAX_IMAGE_BYTES"]) {
      assert.match(stdout, new RegExp(binding.replace(".", "\\.")), binding);
    }
    assert.match(stdout, /--dry-run: exiting now/);
    assert.doesNotMatch(stdout, /FETCH_ALLOW_PRIVATE/, "production never allows private destinations");
    assert.match(stdout, /env\.DEMO_PAGE \("false"\)/, "production has no demo page");
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});
