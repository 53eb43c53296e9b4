// npm run soak (issue 2.3/4): thousands of uploads at once against the built worker in Miniflare
// (real local KV, D1, R2; the origin simulated by Node through the integration harness), mixing
// the ways an upload goes right and wrong, then the storage invariants checked on what is left:
//   1. every row's image_key exists in R2 with the row's sha256 and byte count;
//   2. after one sweep, every object under list_items/ is referenced by a row;
//   3. every response is one of the contract's statuses with its HTTP code, in a JSON envelope;
//   4. no application-crash except for requests that hit an injected storage fault.
// Not part of `npm test` (minutes of CPU). Exits 1 on any violation.
// Settings (environment): SOAK_UPLOADS (2000), SOAK_CONCURRENCY (16), SOAK_FETCH_TIMEOUT_MS
// (1500), SOAK_SEED (random; printed, and the same seed gives the same plan).
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { performance } from "node:perf_hooks";
import {
  FIXTURES, HOUR, assertEnvelope, fixture, serve, sha256, sleep, startWorker,
} from "../tests/support/harness.mjs";
import { jpeg, png } from "../bench/images.mjs";
import { peakRssBytes, workerdPids } from "../bench/lib.mjs";

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const UPLOADS = env("SOAK_UPLOADS", 2000);
const CONCURRENCY = env("SOAK_CONCURRENCY", 16);
const FETCH_TIMEOUT_MS = env("SOAK_FETCH_TIMEOUT_MS", 1500);
const SEED = env("SOAK_SEED", Math.floor(Math.random() * 2 ** 31));
/** Items most uploads go to: few enough that images get replaced, and sometimes raced. */
const SHARED_ITEMS = 150;
const FAULT_ITEMS = 8;
const SESSIONS = 8;
/** The sweep's smallest allowed age (src/sweep/plan.rs); the event is dated 2 h ahead. */
const SWEEP_MIN_AGE_S = 600;
const MiB = 1024 * 1024;
const PART = 5 * MiB; // src/transfer.rs: without a length, a body past one part goes multipart

/** API.md §2: every status and its HTTP code. */
const HTTP_OF_STATUS = {
  "action-successful": 200, "invalid-url": 400, "invalid-token": 401, "session-expired": 401,
  "client-required": 401, "missing-param": 400, "invalid-param": 400, "application-crash": 500,
  "mandrill-email-failed": 500, "invalid-content-type": 400, "route-non-existent": 500,
  "no-params-decoded": 400, "invalid-encoded-params": 400, "route-not-found": 404,
  "identify-request-error": 500, "service-not-found": 503, "rate-limited": 429,
};

// ---- the plan: seeded, so a failing run can be replayed -------------------------------------

function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = mulberry32(SEED);
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const pick = (list) => list[Math.floor(random() * list.length)];
const chance = (p) => random() < p;

const image = (label, bytes) => ({ label, bytes, sha256: sha256(bytes) });
const fixtureNames = readdirSync(FIXTURES).sort();
// Fixtures the real decoders refuse (src/image/tests.rs REFUSED): TEM before the first scan
// stops Pillow, so API.md §5 rejects it, whatever its extension.
const REFUSED_BY_DECODERS = new Set(["jpeg-fill-bytes-tem-python.jpg"]);
const isImage = (n) => /\.(png|jpg)$/.test(n) && !REFUSED_BY_DECODERS.has(n);
const FIXTURE_IMAGES = fixtureNames.filter(isImage).map((n) => image(n, fixture(n)));
const NOT_IMAGES = fixtureNames.filter((n) => !isImage(n)).map((n) => image(n, fixture(n)));
/** Real, decodable images (bench/images.mjs) from tens of KB to ~12 MB. */
function generated(sizes) {
  return sizes.flatMap((size) => {
    const label = size >= MiB ? `${(size / MiB).toFixed(1)}MiB` : `${Math.round(size / 1024)}KiB`;
    return [image(`${label}.png`, png(size, `soak-${size}`).bytes), image(`${label}.jpg`, jpeg(size, `soak-${size}`).bytes)];
  });
}
const SMALL = generated([64 * 1024, 300 * 1024, 900 * 1024]);
const MEDIUM = generated([1.5 * MiB, 3 * MiB, 4.8 * MiB]);
const BIG = generated([6 * MiB, 9 * MiB, 12 * MiB]);

/** Mostly small images, as in real life; enough big ones that every storage path runs. */
function validImage() {
  const r = random();
  if (r < 0.55) return pick(FIXTURE_IMAGES);
  if (r < 0.85) return pick(SMALL);
  if (r < 0.95) return pick(MEDIUM);
  return pick(BIG);
}

/** How the worker writes a body of `size` bytes (src/transfer.rs). */
const storagePath = (size, contentLength) => (contentLength ? "streamed put" : size > PART ? "multipart" : "one put");

/** Origin options: with or without a Content-Length, in 1 … 32 pieces, any declared type. */
function originOptions(extra = {}) {
  return {
    contentLength: chance(0.5),
    chunks: int(1, 32),
    contentType: pick(["image/png", "image/jpeg", "application/octet-stream", "text/plain", null]),
    ...extra,
  };
}

/** Sends part of the body (as announced or chunked), then drops the connection. */
function diesMidBody(bytes, fraction, contentLength) {
  return (req, res) => {
    const headers = { "content-type": "image/png", ...(contentLength ? { "content-length": String(bytes.length) } : {}) };
    res.writeHead(200, headers);
    res.write(bytes.subarray(0, Math.floor(bytes.length * fraction)), () => setTimeout(() => req.socket.destroy(), 20));
  };
}

/** An upload of a valid image, served with random origin options (`extra` overrides them). */
function validUpload(item, extra = {}) {
  const img = validImage();
  const opts = originOptions(extra);
  return { item, image: img, path: storagePath(img.bytes.length, opts.contentLength), origin: () => serve(img.bytes, opts) };
}

/** An upload of `size` bytes that are not a storable image, made by `makeBytes` per request
 * (a copy of a 12 MiB image held by the plan for the whole run would be memory for nothing). */
function badUpload(item, size, makeBytes) {
  const opts = originOptions();
  return { item, path: storagePath(size, opts.contentLength), origin: () => (req, res) => serve(makeBytes(), opts)(req, res) };
}

function flipByte(bytes, offset) {
  const copy = Buffer.from(bytes);
  copy[offset] ^= 0xff;
  return copy;
}

const ok = ["action-successful"];
/**
 * Each scenario: its share of the uploads, the outcomes the contract allows for it
 * (`status` or `status:reason`), and `block(items)` → the uploads it adds to the plan (adjacent
 * in the queue, so a block of several starts together). An upload: { item, image? (what a
 * success must have stored), origin (handler factory), path?, abortAfterMs?, deleteAfterMs? }.
 */
const SCENARIOS = {
  valid: {
    share: 40,
    allowed: ok,
    block: (items) => [validUpload(items.shared())],
  },
  invalid: {
    share: 8,
    allowed: ["invalid-url:unsupported-type", "invalid-url:corrupt", "invalid-url:empty"],
    block: (items) => {
      if (chance(0.4)) {
        const { bytes } = pick(NOT_IMAGES);
        return [badUpload(items.shared(), bytes.length, () => bytes)];
      }
      if (chance(0.1)) return [badUpload(items.shared(), 0, () => Buffer.alloc(0))];
      // A bad CRC anywhere in a PNG, the very end included (found only at the last byte).
      const { bytes } = pick([...SMALL, ...MEDIUM, ...BIG].filter((i) => i.label.endsWith(".png")));
      const offset = chance(0.5) ? bytes.length - 1 : int(100, bytes.length - 1);
      return [badUpload(items.shared(), bytes.length, () => flipByte(bytes, offset))];
    },
  },
  truncated: {
    share: 7,
    allowed: ["invalid-url:corrupt", "invalid-url:unsupported-type", "invalid-url:empty"],
    block: (items) => {
      const img = validImage();
      const bytes = img.bytes.subarray(0, int(0, img.bytes.length - 1)); // ends cleanly, too early
      return [badUpload(items.shared(), bytes.length, () => bytes)];
    },
  },
  "slow-origin": {
    share: 4,
    allowed: ["invalid-url:timeout"],
    block: (items) => {
      const img = pick([...FIXTURE_IMAGES, ...SMALL, ...MEDIUM]);
      const opts = chance(0.5)
        ? originOptions({ headerDelayMs: FETCH_TIMEOUT_MS + 1000 })
        : originOptions({ chunks: 10, chunkDelayMs: Math.ceil(FETCH_TIMEOUT_MS / 4) }); // a trickle
      return [{ item: items.shared(), origin: () => serve(img.bytes, opts) }];
    },
  },
  "origin-dies": {
    share: 7,
    allowed: ["invalid-url:unreachable", "invalid-url:corrupt"],
    block: (items) => {
      const img = validImage();
      const fraction = 0.05 + random() * 0.9;
      const contentLength = chance(0.5);
      return [{ item: items.shared(), origin: () => diesMidBody(img.bytes, fraction, contentLength) }];
    },
  },
  "client-abort": {
    share: 6,
    // The client hangs up while the worker fetches; a fast upload may answer first.
    allowed: ["client-aborted", "action-successful"],
    block: (items) => [{ ...validUpload(items.shared(), { chunks: 10, chunkDelayMs: 50 }), abortAfterMs: int(10, 700) }],
  },
  "same-item": {
    share: 15,
    allowed: ok,
    block: (items) => {
      const item = items.shared();
      return Array.from({ length: int(2, 5) }, () => validUpload(item));
    },
  },
  "deleted-mid-upload": {
    share: 5,
    // Deleted before the record's update: not-found; after it: the upload had succeeded.
    allowed: ["invalid-param:not-found", "action-successful"],
    block: (items) => [{ ...validUpload(items.doomed(), { chunks: 8, chunkDelayMs: 40 }), deleteAfterMs: int(0, 600) }],
  },
  "storage-fault": {
    share: 8,
    allowed: ["application-crash"],
    block: (items) => [validUpload(items.faulty())],
  },
};

function weightedScenario() {
  const names = Object.keys(SCENARIOS);
  let r = random() * names.reduce((sum, n) => sum + SCENARIOS[n].share, 0);
  for (const name of names) {
    r -= SCENARIOS[name].share;
    if (r < 0) return name;
  }
  return names[names.length - 1];
}

function makePlan(items) {
  const plan = [];
  while (plan.length < UPLOADS) {
    const scenario = weightedScenario();
    for (const upload of SCENARIOS[scenario].block(items)) plan.push({ n: plan.length, scenario, ...upload });
  }
  return plan;
}

// ---- the world: sessions and items ----------------------------------------------------------

async function seedWorld(ctx) {
  const sessions = [];
  for (let i = 0; i < SESSIONS; i++) sessions.push(await ctx.seedSession({ remember_me: true }));
  const shared = [];
  for (let i = 0; i < SHARED_ITEMS; i++) shared.push(await ctx.seedItem());
  const faulty = [];
  for (let i = 0; i < FAULT_ITEMS; i++) faulty.push(await ctx.seedItem());
  // A real D1 failure: SQLite refuses to point these items at any image.
  await ctx.db.exec(
    `CREATE TRIGGER soak_fault BEFORE UPDATE OF image_key ON list_items WHEN NEW.id IN (${faulty.join(",")}) BEGIN SELECT RAISE(ABORT, 'injected D1 failure'); END;`,
  );
  const kindOf = new Map([...shared.map((id) => [id, "shared"]), ...faulty.map((id) => [id, "fault"])]);
  const doomed = [];
  const items = {
    shared: () => pick(shared),
    faulty: () => pick(faulty),
    // Seeded at once when planned (below), deleted while its upload runs.
    doomed: () => {
      const id = 9_000_000 + doomed.length;
      doomed.push(id);
      kindOf.set(id, "deleted");
      return id;
    },
  };
  return { sessions, items, kindOf, seedDoomed: async () => { for (const id of doomed) await ctx.seedItem(id); } };
}

// ---- running ---------------------------------------------------------------------------------

async function runUpload(ctx, world, upload, background) {
  const url = `https://img.example.com/soak/${upload.n}/${upload.image?.label ?? "body"}`;
  const handler = upload.origin();
  ctx.origin.route(url, upload.deleteAfterMs === undefined ? handler : (req, res) => {
    background.push(sleep(upload.deleteAfterMs).then(() => ctx.db.prepare("DELETE FROM list_items WHERE id = ?").bind(upload.item).run()));
    return handler(req, res);
  });
  const session = world.sessions[upload.n % world.sessions.length];
  const controller = upload.abortAfterMs === undefined ? null : new AbortController();
  const timer = controller && setTimeout(() => controller.abort(), upload.abortAfterMs);
  const started = performance.now();
  const outcome = { upload, problems: [] };
  try {
    const r = await ctx.put(
      { token: session.token, id: upload.item, image_url: url },
      { headers: { "x-request-id": `soak-${upload.n}` }, signal: controller?.signal },
    );
    outcome.http = r.status;
    outcome.status = r.body?.status ?? "(not JSON)";
    outcome.reason = r.body?.data?.reason;
    outcome.image = r.body?.data?.image;
    try {
      assertEnvelope(r);
    } catch (e) {
      outcome.problems.push(`not an envelope: ${e.message.split("\n")[0]}`);
    }
    if (HTTP_OF_STATUS[outcome.status] !== r.status) outcome.problems.push(`HTTP ${r.status} with status ${outcome.status}`);
  } catch (e) {
    if (e.name === "AbortError") outcome.status = "client-aborted";
    else if (e instanceof assert.AssertionError) {
      // The harness checks every response against openapi.yaml.
      outcome.status = "(off the contract)";
      outcome.problems.push(e.message.slice(0, 400));
    } else {
      outcome.status = "(no response)";
      outcome.problems.push(String(e?.stack ?? e).slice(0, 400));
    }
  } finally {
    clearTimeout(timer);
  }
  outcome.ms = performance.now() - started;
  return outcome;
}

async function runPlan(ctx, world, plan) {
  const outcomes = new Array(plan.length);
  const background = [];
  let next = 0;
  let done = 0;
  const started = Date.now();
  const lane = async () => {
    while (next < plan.length) {
      const upload = plan[next++];
      outcomes[upload.n] = await runUpload(ctx, world, upload, background);
      if (++done % Math.ceil(plan.length / 10) === 0) log(`${done}/${plan.length} uploads answered, ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  await Promise.all(background);
  return outcomes;
}

// ---- checking --------------------------------------------------------------------------------

async function listAll(bucket, prefix) {
  const objects = [];
  let cursor;
  do {
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    objects.push(...page.objects);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return objects;
}

/** The worker's own request log line (API README "The request log") for each request, by the
 * X-Request-Id the soak sent: the crash detail, and what the worker decided for a client that
 * hung up. */
function attachWorkerLines(outcomes, logs) {
  const byId = new Map();
  for (const { message } of logs) {
    const match = message.match(/"request_id":"soak-(\d+)"/);
    if (match && message.startsWith("{")) byId.set(Number(match[1]), JSON.parse(message));
  }
  for (const o of outcomes) o.worker = byId.get(o.upload.n);
}

/** One line about a request, for a violation. */
const describe = (o) => `#${o.upload.n} ${o.upload.scenario} item ${o.upload.item}${o.upload.path ? ` (${o.upload.path}, ${o.upload.image?.label ?? "bad body"})` : ""}: ${label(o)}${o.worker?.reason ? ` [worker: ${o.worker.reason}]` : ""}`;

const allRows = async (ctx) => (await ctx.db.prepare("SELECT id, image_key, image_bytes, image_sha256 FROM list_items ORDER BY id").all()).results;

/** Background work (replaced-image deletes, uploads whose client hung up) has settled when
 * the bucket and the table stay the same for 3 s. */
async function settle(ctx) {
  const started = Date.now();
  let last = "";
  for (let stable = 0; stable < 3 && Date.now() - started < 120_000; ) {
    await sleep(1000);
    const snapshot = JSON.stringify([(await listAll(ctx.bucket, "")).map((o) => o.key), await allRows(ctx)]);
    stable = snapshot === last ? stable + 1 : 0;
    last = snapshot;
  }
  return Date.now() - started;
}

/** Invariant 1 (and that the row holds an image some valid upload to that item served). */
async function checkRows(ctx, rows, servedTo) {
  const violations = [];
  for (const row of rows.filter((r) => r.image_key !== null)) {
    const object = await ctx.bucket.get(row.image_key);
    if (!object) {
      violations.push(`item ${row.id}: image_key ${row.image_key} is not in R2`);
      continue;
    }
    const bytes = Buffer.from(await object.arrayBuffer());
    if (sha256(bytes) !== row.image_sha256) violations.push(`item ${row.id}: R2 bytes of ${row.image_key} have sha256 ${sha256(bytes)}, the row says ${row.image_sha256}`);
    if (bytes.length !== row.image_bytes) violations.push(`item ${row.id}: R2 holds ${bytes.length} bytes, the row says ${row.image_bytes}`);
    if (!servedTo.get(row.id)?.has(row.image_sha256)) violations.push(`item ${row.id}: its image ${row.image_sha256} was never served to it by a valid upload`);
  }
  return violations;
}

/** Runs the scheduled sweep dated 2 h ahead (every object "old"), until its walk completes. */
async function sweep(ctx) {
  const worker = await ctx.mf.getWorker();
  const lines = [];
  for (let run = 0; run < 5 && !lines.at(-1)?.complete; run++) {
    const from = ctx.logs.length;
    await worker.scheduled({ cron: "0 * * * *", scheduledTime: new Date(Date.now() + 2 * HOUR) });
    const line = ctx.logs.slice(from).map((l) => l.message).find((m) => m.includes('"event":"sweep"'));
    lines.push(line ? JSON.parse(line) : { complete: false, errors: 1, first_error: "no sweep log line" });
  }
  return lines;
}

// ---- reporting -------------------------------------------------------------------------------

const log = (message) => console.log(`[soak] ${message}`);
const label = (o) => (o.reason && typeof o.reason === "string" ? `${o.status}:${o.reason}` : o.status);
/** FETCH_TIMEOUT_MS covers every byte whatever the file holds (API.md §5): on two busy cores a
 * valid upload may pass it, and that is the contract's answer, so it is allowed everywhere. */
const LOAD_TIMEOUT = "invalid-url:timeout";
const allowedFor = (o) => label(o) === LOAD_TIMEOUT || SCENARIOS[o.upload.scenario].allowed.some((a) => a === o.status || a === label(o));

function tally(values) {
  const counts = new Map();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]);
}

function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join("  ").trimEnd();
  console.log([line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n"));
}

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const started = Date.now();
  log(`seed ${SEED}: ${UPLOADS} uploads at concurrency ${CONCURRENCY}, FETCH_TIMEOUT_MS ${FETCH_TIMEOUT_MS}`);
  const ctx = await startWorker({
    logs: true,
    vars: { FETCH_TIMEOUT_MS: String(FETCH_TIMEOUT_MS), SWEEP_MIN_AGE_S: String(SWEEP_MIN_AGE_S) },
  });
  try {
    const world = await seedWorld(ctx);
    const plan = makePlan(world.items);
    await world.seedDoomed();
    const outcomes = await runPlan(ctx, world, plan);
    const uploadSeconds = (Date.now() - started) / 1000;
    const settleMs = await settle(ctx);
    attachWorkerLines(outcomes, ctx.logs);

    // What each item may hold: the images valid uploads served to it.
    const servedTo = new Map();
    for (const { upload } of outcomes.filter((o) => o.upload.image)) {
      if (!servedTo.has(upload.item)) servedTo.set(upload.item, new Set());
      servedTo.get(upload.item).add(upload.image.sha256);
    }
    const violations = { 1: [], 2: [], 3: [], 4: [], extra: [] };
    violations[1].push(...(await checkRows(ctx, await allRows(ctx), servedTo)));
    for (const o of outcomes) {
      violations[3].push(...o.problems.map((p) => `${describe(o)}: ${p}`));
      if (o.status === "application-crash" && o.upload.scenario !== "storage-fault") violations[4].push(describe(o));
      // A success must answer the bytes the origin served.
      if (o.status === "action-successful" && o.upload.image && (o.image?.sha256 !== o.upload.image.sha256 || o.image?.bytes !== o.upload.image.bytes.length)) {
        violations.extra.push(`#${o.upload.n} ${o.upload.scenario}: answered sha256 ${o.image?.sha256}, the origin served ${o.upload.image.sha256}`);
      }
      const crash = o.status === "application-crash"; // counted by invariant 4
      if (!allowedFor(o) && !crash) violations.extra.push(`${describe(o)} (allowed: ${SCENARIOS[o.upload.scenario].allowed.join(", ")})`);
    }

    // Before the sweep: what the uploads themselves left unreferenced, by kind of item.
    const rowsBefore = await allRows(ctx);
    const referenced = new Set(rowsBefore.map((r) => r.image_key).filter(Boolean));
    const objectsBefore = await listAll(ctx.bucket, "");
    const orphansBefore = objectsBefore.filter((o) => !referenced.has(o.key));
    const itemOfKey = (key) => Number(key.split("/")[1]);
    const orphanKinds = tally(orphansBefore.map((o) => world.kindOf.get(itemOfKey(o.key)) ?? "unknown"));
    // application-crash promises nothing half-written left behind (API.md §2): fault items hold nothing.
    for (const o of orphansBefore.filter((o) => world.kindOf.get(itemOfKey(o.key)) === "fault")) {
      violations.extra.push(`fault item ${itemOfKey(o.key)}: ${o.key} left behind by an application-crash`);
    }

    const sweeps = await sweep(ctx);
    const rowsAfter = await allRows(ctx);
    const stillReferenced = new Set(rowsAfter.map((r) => r.image_key).filter(Boolean));
    const objectsAfter = await listAll(ctx.bucket, "");
    for (const o of objectsAfter) {
      if (!o.key.startsWith("list_items/")) violations[2].push(`${o.key}: outside list_items/`);
      else if (!stillReferenced.has(o.key)) violations[2].push(`${o.key}: no row references it after the sweep`);
    }
    if (!sweeps.at(-1)?.complete || sweeps.some((s) => s.errors)) violations[2].push(`sweep did not finish cleanly: ${JSON.stringify(sweeps)}`);
    // The sweep must not have broken invariant 1 either.
    violations[1].push(...(await checkRows(ctx, rowsAfter, servedTo)).map((v) => `after the sweep: ${v}`));

    const peakMB = { node: process.resourceUsage().maxRSS / 1024, workerd: peakRssBytes(workerdPids()) / MiB };
    report({ peakMB, outcomes, plan, uploadSeconds, settleMs, objectsBefore, orphansBefore, orphanKinds, objectsAfter, rowsAfter, sweeps, violations, logs: ctx.logs, started });
    return Object.values(violations).every((v) => v.length === 0);
  } finally {
    await ctx.dispose();
  }
}

function report({ peakMB, outcomes, uploadSeconds, settleMs, objectsBefore, orphansBefore, orphanKinds, objectsAfter, rowsAfter, sweeps, violations, logs, started }) {
  console.log("\nPer scenario (outcome = envelope status[:data.reason]; allowed = what the contract permits there)");
  const rows = Object.keys(SCENARIOS).map((name) => {
    const mine = outcomes.filter((o) => o.upload.scenario === name);
    const ms = mine.map((o) => o.ms).sort((a, b) => a - b);
    return [
      name, mine.length, tally(mine.map(label)).map(([k, n]) => `${k} ${n}`).join(", "),
      mine.filter((o) => !allowedFor(o)).length, Math.round(percentile(ms, 0.5)), Math.round(percentile(ms, 0.99)),
    ];
  });
  table(["scenario", "uploads", "outcomes", "unexpected", "p50 ms", "p99 ms"], rows);
  const lateValid = outcomes.filter((o) => o.upload.scenario !== "slow-origin" && label(o) === LOAD_TIMEOUT).length;
  console.log(`(${lateValid} uploads outside slow-origin passed FETCH_TIMEOUT_MS ${FETCH_TIMEOUT_MS} under load: allowed, not violations)`);

  const aborted = outcomes.filter((o) => o.status === "client-aborted");
  console.log(`\nClients that hung up (${aborted.length}), as the worker logged them: ${tally(aborted.map((o) => (o.worker ? `${o.worker.status}${o.worker.reason ? `:${o.worker.reason}` : ""}` : "no log line"))).map(([k, n]) => `${k} ${n}`).join(", ") || "none"}`);

  console.log("\nStorage paths (by the body's size and Content-Length; every scenario but slow and dying origins)");
  const paths = outcomes.filter((o) => o.upload.path);
  table(["path", "uploads", "action-successful"], tally(paths.map((o) => o.upload.path)).map(([p, n]) => [
    p, n, paths.filter((o) => o.upload.path === p && o.status === "action-successful").length,
  ]));

  console.log("\nStatuses");
  table(["status", "HTTP", "responses"], tally(outcomes.map((o) => o.status)).map(([s, n]) => [s, HTTP_OF_STATUS[s] ?? "-", n]));

  // The worker's own log lines other than the per-request line: events worth a look.
  const events = tally(logs.map((l) => l.message).filter((m) => m.startsWith("{") && !m.includes('"request_id":"soak-')).map((m) => {
    try {
      return `${JSON.parse(m).event ?? "(other)"}`;
    } catch {
      return "(not JSON)";
    }
  }));
  const requestLines = logs.filter((l) => l.message.includes('"request_id":"soak-')).length;
  console.log(`\nWorker log: ${requestLines} request lines for ${outcomes.length} requests; other events: ${events.map(([e, n]) => `${e} ${n}`).join(", ") || "none"}`);

  console.log(`\nR2 before the sweep: ${objectsBefore.length} objects, ${orphansBefore.length} unreferenced (by item: ${orphanKinds.map(([k, n]) => `${k} ${n}`).join(", ") || "none"})`);
  console.log(`Sweep: ${sweeps.map((s) => `seen ${s.seen} deleted ${s.deleted} kept ${s.kept} errors ${s.errors}${s.complete ? "" : " (incomplete)"}`).join("; ")}`);
  console.log(`R2 after the sweep: ${objectsAfter.length} objects; rows with an image: ${rowsAfter.filter((r) => r.image_key).length}`);

  console.log("\nInvariants");
  const names = {
    1: "every row's image_key in R2 with its sha256 and bytes",
    2: "after the sweep every object under list_items/ is referenced",
    3: "contract statuses, HTTP codes, JSON envelope",
    4: "application-crash only on an injected fault",
    extra: "scenario outcomes, answered sha256, nothing left by a crash",
  };
  table(["#", "check", "violations"], Object.entries(names).map(([k, name]) => [k, name, violations[k].length]));
  for (const [k, list] of Object.entries(violations)) {
    for (const v of list.slice(0, 20)) console.log(`  violation ${k}: ${v}`);
    if (list.length > 20) console.log(`  violation ${k}: … ${list.length - 20} more`);
  }
  const total = Object.values(violations).reduce((n, v) => n + v.length, 0);
  console.log(`\n${outcomes.length} uploads at concurrency ${CONCURRENCY} in ${uploadSeconds.toFixed(0)} s, settled in ${(settleMs / 1000).toFixed(0)} s, ${((Date.now() - started) / 1000).toFixed(0)} s in all; peak RSS node ${peakMB.node.toFixed(0)} MB, workerd ${peakMB.workerd.toFixed(0)} MB; seed ${SEED}; ${total} violations`);
}

main().then(
  (clean) => process.exit(clean ? 0 : 1),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
