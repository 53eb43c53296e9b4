// Peak RSS growth of workerd while N concurrent uploads of a ~20 MiB image go through the
// worker (Miniflare, local R2), beside the pipe-only floor in the same run. Workers alternate
// over several rounds; medians are reported. Usage: node bench/memory.mjs [rounds] [concurrency]
import { readFileSync, readdirSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROUNDS = Number(process.argv[2] ?? 3);
const CONCURRENCY = Number(process.argv[3] ?? 8);
const IMAGE_BYTES = 20 * 1024 * 1024 - 4096; // just under the default MAX_IMAGE_BYTES

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, "latin1");
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, "latin1"), data])), 0);
  return Buffer.concat([head, data, crc]);
};

/** A structurally valid PNG of `size` bytes: sample.png's chunks around one big ancillary chunk. */
function bigPng(size) {
  const sample = readFileSync(path.join(ROOT, "tests/fixtures/images/sample.png"));
  const padding = size - sample.length - 12;
  const ihdrEnd = 8 + 25;
  return Buffer.concat([sample.subarray(0, ihdrEnd), chunk("zzZz", randomBytes(padding)), sample.subarray(ihdrEnd)]);
}

function workerdPids() {
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
const rssBytes = (pids) =>
  pids.reduce((sum, pid) => {
    try {
      const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
      return sum + Number(kb ?? 0) * 1024;
    } catch {
      return sum;
    }
  }, 0);

const image = bigPng(IMAGE_BYTES);
const outboundService = () =>
  new Response(image, { headers: { "content-type": "image/png", "content-length": String(image.length) } });
const common = {
  modules: true,
  compatibilityDate: "2026-04-20",
  cf: false,
  r2Buckets: ["IMAGES"],
  outboundService,
};

const TOKEN = "bench-token-0123456789abcdef";
const subjects = {
  "floor (pipe only)": {
    options: { ...common, scriptPath: path.join(ROOT, "bench/floor_worker.mjs") },
    request: (i) => ["http://bench/", { method: "POST", body: JSON.stringify({ url: "https://origin.test/a.png", key: `floor/${i}` }) }],
  },
  "worker (upload_image)": {
    options: {
      ...common,
      scriptPath: path.join(ROOT, "shim/entry.mjs"),
      modulesRoot: ROOT,
      modulesRules: [
        { type: "ESModule", include: ["**/*.js", "**/*.mjs"] },
        { type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true },
      ],
      kvNamespaces: ["SESSIONS"],
      d1Databases: ["DB"],
      // Memory, not speed, is measured here: a shared machine must not turn into timeouts.
      bindings: { FETCH_TIMEOUT_MS: "120000" },
    },
    async seed(mf) {
      const db = await mf.getD1Database("DB");
      const sql = readFileSync(path.join(ROOT, "migrations/0001_list_items.sql"), "utf8").replace(/--.*$/gm, "").replace(/\s+/g, " ");
      await db.exec(sql);
      for (let id = 1; id <= CONCURRENCY; id++) {
        await db.prepare("INSERT OR IGNORE INTO list_items (id, key, slug, name) VALUES (?, ?, ?, ?)").bind(id, "k", "s", "n").run();
      }
      const kv = await mf.getKVNamespace("SESSIONS");
      const now = new Date().toISOString();
      await kv.put(`session:${createHash("sha256").update(TOKEN).digest("hex")}`, JSON.stringify({ id: 1, user_id: 1, created_at: now, last_used_at: now, remember_me: true }));
      await kv.put("user:1", JSON.stringify({ id: 1, client_id: 1 }));
    },
    request: (i) => [
      "http://bench/api/v1/list_items/upload_image",
      { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: TOKEN, id: (i % CONCURRENCY) + 1, image_url: "https://origin.test/a.png" }) },
    ],
  },
};

async function measure(name) {
  const subject = subjects[name];
  const mf = new Miniflare(subject.options);
  await mf.ready;
  await subject.seed?.(mf);
  const send = async (i) => {
    const res = await mf.dispatchFetch(...subject.request(i));
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${name}: ${res.status} ${text.slice(0, 200)}`);
  };
  await send(0); // warm up: compile, first allocations
  await new Promise((r) => setTimeout(r, 300));
  const pids = workerdPids();
  const baseline = rssBytes(pids);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pids))), 5);
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => send(i + 1)));
  const elapsed = performance.now() - started;
  clearInterval(sampler);
  await mf.dispose();
  return { growth: peak - baseline, elapsed };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(subjects)) results[name].push(await measure(name));
}
const MB = 1e6;
console.log(`${CONCURRENCY} concurrent uploads of ${(IMAGE_BYTES / MB).toFixed(1)} MB, ${ROUNDS} rounds, medians`);
const floor = median(results["floor (pipe only)"].map((r) => r.growth));
for (const [name, runs] of Object.entries(results)) {
  const growth = median(runs.map((r) => r.growth));
  const elapsed = median(runs.map((r) => r.elapsed));
  console.log(
    `${name.padEnd(24)} peak workerd RSS growth ${(growth / MB).toFixed(1).padStart(6)} MB` +
      `  (${(growth / Math.max(floor, 1)).toFixed(2)}x floor)  wall ${elapsed.toFixed(0)} ms` +
      `  rounds: ${runs.map((r) => (r.growth / MB).toFixed(0)).join(", ")} MB`,
  );
}
const worker = median(results["worker (upload_image)"].map((r) => r.growth));
console.log(`target: worker growth < 100 MB -> ${worker < 100 * MB ? "met" : "MISSED"}`);
