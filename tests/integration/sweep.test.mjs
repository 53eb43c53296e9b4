// The hourly sweep (API.md §8): a scheduled event deletes objects under list_items/ older than
// SWEEP_MIN_AGE_S that no list item references, page by page, resuming from the KV key
// sweep:cursor, and writes one JSON log line per run.
//
// R2 stamps `uploaded` at put time, and the sweep measures ages at the event's scheduledTime:
// an event scheduled two hours ahead sees every object just put as two hours old.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { HOUR, startWorker, uniqueId } from "../support/harness.mjs";

const CRON = "0 * * * *";

async function sweepWorker(vars = {}, options = {}) {
  const ctx = await startWorker({ logs: true, vars: { SWEEP_MIN_AGE_S: "3600", ...vars }, ...options });
  const worker = await ctx.mf.getWorker();
  /** Runs the scheduled event `aheadMs` after now; returns its log line. */
  ctx.sweep = async (aheadMs) => {
    const before = ctx.logs.length;
    const result = await worker.scheduled({ cron: CRON, scheduledTime: new Date(Date.now() + aheadMs) });
    assert.equal(result.outcome, "ok");
    const lines = ctx.logs.slice(before).map((l) => l.message).filter((m) => m.includes('"event":"sweep"'));
    assert.equal(lines.length, 1, `one sweep line per run: ${lines.join("\n")}`);
    return JSON.parse(lines[0]);
  };
  ctx.keys = async (prefix) => (await ctx.bucket.list({ prefix })).objects.map((o) => o.key).sort();
  ctx.putObject = async (key) => {
    await ctx.bucket.put(key, new Uint8Array([1, 2, 3]));
    return key;
  };
  return ctx;
}

/** A key of the worker's own shape for list item `id`. */
const imageKey = (id = uniqueId()) => `list_items/${id}/${randomBytes(16).toString("hex")}.png`;

const counts = (line) => {
  const { seen, deleted, kept, errors, pages, resumed_from_cursor, complete } = line;
  return { seen, deleted, kept, errors, pages, resumed_from_cursor, complete };
};

test("an old orphan is deleted; referenced, young, foreign-shaped and outside objects are kept", async () => {
  const ctx = await sweepWorker();
  try {
    const id = await ctx.seedItem();
    const referenced = await ctx.putObject(imageKey(id));
    await ctx.db.prepare("UPDATE list_items SET image_key = ? WHERE id = ?").bind(referenced, id).run();
    const orphan = await ctx.putObject(imageKey());
    const foreignShape = await ctx.putObject(`list_items/${id}/notes.txt`);
    const outside = await ctx.putObject(`other/${id}/${randomBytes(16).toString("hex")}.png`);

    // Just uploaded: the orphan is young, nothing goes.
    const young = await ctx.sweep(0);
    assert.deepEqual(counts(young), { seen: 3, deleted: 0, kept: 3, errors: 0, pages: 1, resumed_from_cursor: false, complete: true });
    assert.deepEqual(await ctx.keys("list_items/"), [foreignShape, orphan, referenced].sort());

    // Two hours later the orphan is past SWEEP_MIN_AGE_S; the referenced object never goes.
    const old = await ctx.sweep(2 * HOUR);
    assert.deepEqual(counts(old), { seen: 3, deleted: 1, kept: 2, errors: 0, pages: 1, resumed_from_cursor: false, complete: true });
    assert.equal(typeof old.ms, "number");
    assert.deepEqual(await ctx.keys("list_items/"), [foreignShape, referenced].sort());
    assert.deepEqual(await ctx.keys("other/"), [outside]);
    assert.equal((await ctx.getRow(id)).image_key, referenced);
    assert.equal(await ctx.kv.get("sweep:cursor"), null);
  } finally {
    await ctx.dispose();
  }
});

test("a walk longer than one run's page budget resumes from sweep:cursor and finishes", async () => {
  const ctx = await sweepWorker({ SWEEP_PAGE_SIZE: "2", SWEEP_MAX_PAGES: "1" });
  try {
    const orphans = [];
    for (let i = 0; i < 4; i++) orphans.push(await ctx.putObject(imageKey()));
    const id = await ctx.seedItem();
    const referenced = await ctx.putObject(imageKey(id));
    await ctx.db.prepare("UPDATE list_items SET image_key = ? WHERE id = ?").bind(referenced, id).run();

    const runs = [];
    for (let i = 0; i < 3; i++) {
      runs.push(counts(await ctx.sweep(2 * HOUR)));
      if (i < 2) assert.ok(await ctx.kv.get("sweep:cursor"), `a cursor is stored after run ${i + 1}`);
    }
    assert.deepEqual(runs.map((r) => [r.pages, r.seen, r.resumed_from_cursor, r.complete]), [
      [1, 2, false, false],
      [1, 2, true, false],
      [1, 1, true, true],
    ]);
    assert.equal(runs.reduce((n, r) => n + r.deleted, 0), 4);
    assert.equal(runs.reduce((n, r) => n + r.kept, 0), 1);
    assert.equal(await ctx.kv.get("sweep:cursor"), null, "a finished walk deletes its cursor");
    assert.deepEqual(await ctx.keys("list_items/"), [referenced]);
  } finally {
    await ctx.dispose();
  }
});

test("SWEEP_MIN_AGE_S 0 sweeps at once (as a test may set it), with a warning in the line; out of range stops the run", async () => {
  const ctx = await sweepWorker({ SWEEP_MIN_AGE_S: "0" });
  try {
    const id = await ctx.seedItem();
    const referenced = await ctx.putObject(imageKey(id));
    await ctx.db.prepare("UPDATE list_items SET image_key = ? WHERE id = ?").bind(referenced, id).run();
    await ctx.putObject(imageKey());
    await new Promise((resolve) => setTimeout(resolve, 5)); // older than 0 s at the event's time
    const line = await ctx.sweep(0);
    assert.deepEqual(counts(line), { seen: 2, deleted: 1, kept: 1, errors: 0, pages: 1, resumed_from_cursor: false, complete: true });
    assert.match(line.warning, /SWEEP_MIN_AGE_S is under 600 s/);
    assert.deepEqual(await ctx.keys("list_items/"), [referenced]);
  } finally {
    await ctx.dispose();
  }
  const wrong = await sweepWorker({ SWEEP_MIN_AGE_S: "2592001" });
  try {
    const orphan = await wrong.putObject(imageKey());
    const line = await wrong.sweep(2 * HOUR);
    assert.deepEqual(counts(line), { seen: 0, deleted: 0, kept: 0, errors: 1, pages: 0, resumed_from_cursor: false, complete: false });
    assert.match(line.first_error, /SWEEP_MIN_AGE_S/);
    assert.deepEqual(await wrong.keys("list_items/"), [orphan]);
  } finally {
    await wrong.dispose();
  }
});

test("SWEEP_MIN_AGE_S at 3600 (the default's value) logs no warning", async () => {
  const ctx = await sweepWorker();
  try {
    assert.equal((await ctx.sweep(0)).warning, undefined);
  } finally {
    await ctx.dispose();
  }
});

test("without the R2 binding the run logs the error instead of failing", async () => {
  const ctx = await sweepWorker({}, { r2: false });
  try {
    const line = await ctx.sweep(2 * HOUR);
    assert.equal(line.errors, 1);
    assert.equal(line.first_error, "missing binding IMAGES");
  } finally {
    await ctx.dispose();
  }
});
