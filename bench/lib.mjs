// Shared by the benchmarks: the subjects (the built worker and the floor workers) as Miniflare
// instances with real local KV / D1 / R2, a Node origin answering their fetches, and readings
// of the workerd processes from /proc (CPU ticks, RSS, peak RSS).
import { readFileSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { COMPAT, migrationStatements } from "../tests/support/harness.mjs";
import { ROOT } from "./stats.mjs";

export { MB, median, percentile, ROOT } from "./stats.mjs";
const TOKEN = "bench-token-0123456789abcdef";
/** List items seeded for the worker: one per concurrent lane, so lanes never race on a row. */
export const ITEMS = 8;
const CLK_TCK = 100; // getconf CLK_TCK on Linux

const TOKEN_HASH = createHash("sha256").update(TOKEN).digest("hex");

/** How the origin sends an image: `/5MB.png` with its Content-Length, `/chunked/5MB.png`
 * without one (chunked, in 64 KiB chunks), `/gzip/5MB.png` with `Content-Encoding: gzip` (the
 * runtime decodes it; the header's length is the encoded one, so it tells nothing). */
export const MODES = { length: "", chunked: "/chunked", gzip: "/gzip" };
const CHUNK = 64 * 1024;

/** `bytes` as a stream of CHUNK-sized copies (enqueue transfers its buffer): sent without a length. */
function chunked(bytes) {
  let offset = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(Uint8Array.prototype.slice.call(bytes, offset, offset + CHUNK));
      offset += CHUNK;
    },
  });
}

/** Node answers every outbound fetch: `images` maps a path (e.g. "/5MB.png") to its bytes. */
function origin(images) {
  const gzipped = new Map();
  return (request) => {
    const [, mode, rest] = /^(\/chunked|\/gzip)?(\/.*)$/.exec(new URL(request.url).pathname);
    const bytes = images.get(rest);
    if (!bytes) return new Response("not found", { status: 404 });
    const headers = { "content-type": "application/octet-stream" };
    if (mode === "/gzip") {
      if (!gzipped.has(rest)) gzipped.set(rest, gzipSync(bytes, { level: 1 }));
      const body = gzipped.get(rest);
      return new Response(body, { headers: { ...headers, "content-encoding": "gzip", "content-length": String(body.length) } });
    }
    if (mode === "/chunked") return new Response(chunked(bytes), { headers });
    return new Response(bytes, { headers: { ...headers, "content-length": String(bytes.length) } });
  };
}

const common = (images, logs) => ({
  modules: true,
  ...COMPAT,
  cf: false,
  r2Buckets: ["IMAGES"],
  outboundService: origin(images),
  handleStructuredLogs: (entry) => logs(entry),
});

/** Seeds the session, its user and the list items the worker (and the bindings floor) read. */
async function seed(mf) {
  const db = await mf.getD1Database("DB");
  for (const statement of migrationStatements()) await db.prepare(statement).run();
  for (let id = 1; id <= ITEMS; id++) {
    await db.prepare("INSERT OR IGNORE INTO list_items (id, key, slug, name) VALUES (?, ?, ?, ?)").bind(id, "k", "s", "n").run();
  }
  const kv = await mf.getKVNamespace("SESSIONS");
  const now = new Date().toISOString();
  await kv.put(`session:${TOKEN_HASH}`, JSON.stringify({ id: 1, user_id: 1, created_at: now, last_used_at: now, remember_me: true }));
  await kv.put("user:1", JSON.stringify({ id: 1, client_id: 1 }));
}

const floor = (query, bindings = false) => ({
  options: (images, logs) => ({
    ...common(images, logs),
    scriptPath: path.join(ROOT, "bench/floor_worker.mjs"),
    ...(bindings ? { kvNamespaces: ["SESSIONS"], d1Databases: ["DB"] } : {}),
  }),
  seed: bindings ? seed : undefined,
  request: (imagePath, lane) => [
    `http://bench/${query}`,
    { method: "POST", body: JSON.stringify({ url: `https://origin.test${imagePath}`, key: `floor/${lane}`, tokenHash: TOKEN_HASH }) },
  ],
});

/** The worker's Miniflare options: the built worker and its bindings. */
const workerOptions = (images, logs) => ({
  ...common(images, logs),
  scriptPath: path.join(ROOT, "shim/entry.mjs"),
  modulesRoot: ROOT,
  modulesRules: [
    { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
    { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
  ],
  kvNamespaces: ["SESSIONS"],
  d1Databases: ["DB"],
  // Throughput, not the deadline, is measured: a loaded 2-core machine must not time out.
  bindings: { FETCH_TIMEOUT_MS: "120000", UPLOAD_TIMEOUT_MS: "120000" },
});

/** A client body: the image's bytes with their length, or (`/chunked/…`) streamed without one. */
function clientBody(imagePath, images) {
  const [, mode, rest] = /^(\/chunked)?(\/.*)$/.exec(imagePath);
  const bytes = images.get(rest);
  return mode ? chunked(bytes) : bytes;
}

/** name → { options(images), seed?(mf), request(imagePath, lane, images) → dispatchFetch arguments }. */
export const SUBJECTS = {
  worker: {
    options: workerOptions,
    seed,
    request: (imagePath, lane) => [
      "http://bench/api/v1/list_items/upload_image",
      {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: TOKEN, id: (lane % ITEMS) + 1, image_url: `https://origin.test${imagePath}` }),
      },
    ],
  },
  /** The same worker given the image itself (API.md §7), not its URL. */
  "worker (direct)": {
    options: workerOptions,
    seed,
    request: (imagePath, lane, images) => [
      `http://bench/api/v1/list_items/upload_image?id=${(lane % ITEMS) + 1}`,
      {
        method: "PUT",
        headers: { "content-type": "application/octet-stream", authorization: `Bearer ${TOKEN}` },
        body: clientBody(imagePath, images),
        duplex: "half",
      },
    ],
  },
  "floor (bare)": floor(""),
  /** The bare floor given the image itself (a direct upload), stored the same way. */
  "floor (direct)": {
    ...floor(""),
    request: (imagePath, lane, images) => [
      `http://bench/?direct=1&key=floor/${lane}`,
      { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: clientBody(imagePath, images), duplex: "half" },
    ],
  },
  "floor (pass-through)": floor("?passthrough=1"),
  /** The bare floor plus the worker's binding calls around the image (KV, D1, R2 delete, log line). */
  "floor (bare + bindings)": floor("?ops=kv,d1,delete,log", true),
};

/** A floor with only some of the binding calls, without (`pipe=0`) or with the image: bench/fixed.mjs. */
export const opsFloor = (ops, pipe = true) => floor(`?ops=${ops.join(",")}${pipe ? "" : "&pipe=0"}`, true);

/** The workerd processes started by this Node process. */
export function workerdPids() {
  const pids = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "workerd") continue;
      const ppid = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[1];
      if (Number(ppid) === process.pid) pids.push(pid);
    } catch {}
  }
  return pids;
}

function sumOver(pids, read) {
  return pids.reduce((sum, pid) => {
    try {
      return sum + read(pid);
    } catch {
      return sum;
    }
  }, 0);
}

/** utime + stime of `pids`, in ms (/proc/<pid>/stat fields 14 and 15, all threads). */
export const cpuMs = (pids) =>
  sumOver(pids, (pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  });

const statusKb = (field) => (pid) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
/** Resident bytes now. */
export const rssBytes = (pids) => sumOver(pids, statusKb("VmRSS"));
/** The kernel's high-water mark of resident bytes since each process started. */
export const peakRssBytes = (pids) => sumOver(pids, statusKb("VmHWM"));

/**
 * Starts `name` (or a subject object) with `images` served by the origin and returns
 * { mf, pids, send(imagePath, lane), wasmMemory() } where send resolves to the request's latency
 * in ms and throws unless the answer is a 200, and wasmMemory() is the largest
 * `wasm_memory_bytes` of the worker's request-log lines so far (null for a floor).
 */
export async function start(name, images) {
  const subject = typeof name === "string" ? SUBJECTS[name] : name;
  const before = new Set(workerdPids());
  let wasmMemory = null;
  const logs = ({ message }) => {
    const match = /"wasm_memory_bytes":(\d+)/.exec(message);
    if (match) wasmMemory = Math.max(wasmMemory ?? 0, Number(match[1]));
  };
  const mf = new Miniflare(subject.options(images, logs));
  await mf.ready;
  await subject.seed?.(mf);
  const pids = workerdPids().filter((pid) => !before.has(pid));
  const send = async (imagePath, lane) => {
    const started = performance.now();
    const res = await mf.dispatchFetch(...subject.request(imagePath, lane, images));
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${name}: ${res.status} ${text.slice(0, 300)}`);
    return performance.now() - started;
  };
  return { mf, pids, send, wasmMemory: () => wasmMemory };
}
