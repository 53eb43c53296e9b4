// Shared by the benchmarks: the subjects (the built worker and the two floor workers) as
// Miniflare instances with real local KV / D1 / R2, a Node origin answering their fetches, and
// readings of the workerd processes from /proc (CPU ticks, RSS, peak RSS).
import { readFileSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import path from "node:path";
import { Miniflare } from "miniflare";
import { ROOT } from "./stats.mjs";

export { MB, median, percentile, ROOT } from "./stats.mjs";
const TOKEN = "bench-token-0123456789abcdef";
/** List items seeded for the worker: one per concurrent lane, so lanes never race on a row. */
export const ITEMS = 8;
const CLK_TCK = 100; // getconf CLK_TCK on Linux

/** Node answers every outbound fetch: `images` maps a path (e.g. "/5MB.png") to its bytes. */
function origin(images) {
  return (request) => {
    const bytes = images.get(new URL(request.url).pathname);
    if (!bytes) return new Response("not found", { status: 404 });
    return new Response(bytes, { headers: { "content-type": "application/octet-stream", "content-length": String(bytes.length) } });
  };
}

const common = (images) => ({ modules: true, compatibilityDate: "2026-04-20", cf: false, r2Buckets: ["IMAGES"], outboundService: origin(images) });

const floor = (query) => ({
  options: (images) => ({ ...common(images), scriptPath: path.join(ROOT, "bench/floor_worker.mjs") }),
  request: (imagePath, lane) => [
    `http://bench/${query}`,
    { method: "POST", body: JSON.stringify({ url: `https://origin.test${imagePath}`, key: `floor/${lane}` }) },
  ],
});

/** name → { options(images), seed?(mf), request(imagePath, lane) → dispatchFetch arguments }. */
export const SUBJECTS = {
  worker: {
    options: (images) => ({
      ...common(images),
      scriptPath: path.join(ROOT, "shim/entry.mjs"),
      modulesRoot: ROOT,
      modulesRules: [
        { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
        { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
      ],
      kvNamespaces: ["SESSIONS"],
      d1Databases: ["DB"],
      // Throughput, not the deadline, is measured: a loaded 2-core machine must not time out.
      bindings: { FETCH_TIMEOUT_MS: "120000" },
    }),
    async seed(mf) {
      const db = await mf.getD1Database("DB");
      const sql = readFileSync(path.join(ROOT, "migrations/0001_list_items.sql"), "utf8").replace(/--.*$/gm, "").replace(/\s+/g, " ");
      await db.exec(sql);
      for (let id = 1; id <= ITEMS; id++) {
        await db.prepare("INSERT OR IGNORE INTO list_items (id, key, slug, name) VALUES (?, ?, ?, ?)").bind(id, "k", "s", "n").run();
      }
      const kv = await mf.getKVNamespace("SESSIONS");
      const now = new Date().toISOString();
      await kv.put(`session:${createHash("sha256").update(TOKEN).digest("hex")}`, JSON.stringify({ id: 1, user_id: 1, created_at: now, last_used_at: now, remember_me: true }));
      await kv.put("user:1", JSON.stringify({ id: 1, client_id: 1 }));
    },
    request: (imagePath, lane) => [
      "http://bench/api/v1/list_items/upload_image",
      {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ token: TOKEN, id: (lane % ITEMS) + 1, image_url: `https://origin.test${imagePath}` }),
      },
    ],
  },
  "floor (bare)": floor(""),
  "floor (pass-through)": floor("?passthrough=1"),
  "floor (pass-through + copy)": floor("?passthrough=1&copy=1"),
};

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
 * Starts `name` with `images` served by the origin and returns { mf, pids, send(imagePath, lane) }
 * where send resolves to the request's latency in ms and throws unless the answer is a 200.
 */
export async function start(name, images) {
  const subject = SUBJECTS[name];
  const before = new Set(workerdPids());
  const mf = new Miniflare(subject.options(images));
  await mf.ready;
  await subject.seed?.(mf);
  const pids = workerdPids().filter((pid) => !before.has(pid));
  const send = async (imagePath, lane) => {
    const started = performance.now();
    const res = await mf.dispatchFetch(...subject.request(imagePath, lane));
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${name}: ${res.status} ${text.slice(0, 300)}`);
    return performance.now() - started;
  };
  return { mf, pids, send };
}
