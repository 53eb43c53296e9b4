// The real-world corpus (issue 2.1, tests/corpus/MANIFEST.tsv) through the direct-upload path
// (API.md §7, issue 2.4): the file's bytes are the request body, once with Content-Length and
// once as a chunked body without it. A deterministic sample keeps the run short: every
// STRIDE-th row by name, plus the first row of every category the stride missed. (Every row has
// been run this way once, in two halves, and agreed: in one run, the Miniflare instance's
// synchronous D1/R2 proxy started failing after several hundred uploads.)
//
// The manifest's verdict is what the decoders do; the worker also enforces its limits (§5). The
// worker here runs with limits below the defaults, so that real files cross each of them (no
// displayable corpus file reaches the defaults), and the expected answer is computed from the
// verdict, the bytes and these limits:
//   empty body → missing-param image; displayable within the limits → stored byte for byte with
//   the manifest's size; otherwise invalid-param image with a §5 reason and nothing stored.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import { COMPAT, ROOT, assertNothingStored, assertStored, crc32, expectStatus, startWorker, toResult } from "../support/harness.mjs";

const CORPUS = path.join(ROOT, "tests", "corpus");
const STRIDE = 15;
const LIMITS = { MAX_IMAGE_BYTES: 500_000, MAX_IMAGE_SIDE: 3000, MAX_IMAGE_PIXELS: 4_000_000 };

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_SIGNATURE = Buffer.from([0xff, 0xd8, 0xff]); // SOI, then a marker's FF

function manifest() {
  const lines = readFileSync(path.join(CORPUS, "MANIFEST.tsv"), "utf8").split("\n").filter((l) => l && !l.startsWith("#"));
  const header = lines.shift().split("\t");
  return lines
    .map((line) => Object.fromEntries(line.split("\t").map((cell, i) => [header[i], cell])))
    .map((row) => ({ ...row, width: Number(row.width) || 0, height: Number(row.height) || 0, bytes: readFileSync(path.join(CORPUS, row.file)) }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

const formatOf = (bytes) =>
  bytes.subarray(0, 8).equals(PNG_SIGNATURE) ? "png" : bytes.subarray(0, 3).equals(JPEG_SIGNATURE) ? "jpeg" : null;

/** The size a file's header announces (PNG: IHDR; JPEG: the first SOFn), or null. The verdict
 * of a not-displayable file says nothing about its size, and the limits apply whatever it holds. */
function headerSize(bytes) {
  const format = formatOf(bytes);
  if (format === "png") return bytes.length >= 24 && bytes.toString("latin1", 12, 16) === "IHDR" ? [bytes.readUInt32BE(16), bytes.readUInt32BE(20)] : null;
  if (format !== "jpeg") return null;
  for (let at = 2; at + 4 <= bytes.length;) {
    const marker = bytes[at + 1];
    if (bytes[at] !== 0xff) return null;
    if (marker === 0xff) at++;
    else if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) at += 2;
    else if (marker === 0xd9 || marker === 0xda) return null;
    else if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
      return at + 9 <= bytes.length ? [bytes.readUInt16BE(at + 7), bytes.readUInt16BE(at + 5)] : null;
    } else at += 2 + bytes.readUInt16BE(at + 2);
  }
  return null;
}

/**
 * What API.md answers for `row` sent directly: `{ stored: {contentType, ext} }`, `{ missing: true }`
 * or `{ reasons: [...] }` (invalid-param image; where two failures apply and the contract does
 * not order them, either reason).
 */
function expected(row, { announced }) {
  const { bytes } = row;
  if (bytes.length === 0) return { missing: true }; // §7: an empty body is missing-param image
  const format = formatOf(bytes);
  const displayable = row.verdict === "displayable";
  const [width, height] = displayable ? [row.width, row.height] : (headerSize(bytes) ?? [0, 0]);
  const tooLarge = bytes.length > LIMITS.MAX_IMAGE_BYTES;
  const tooManyPixels = Math.max(width, height) > LIMITS.MAX_IMAGE_SIDE || width * height > LIMITS.MAX_IMAGE_PIXELS;
  if (displayable && format && !tooLarge && !tooManyPixels) {
    return { stored: format === "png" ? { contentType: "image/png", ext: "png" } : { contentType: "image/jpeg", ext: "jpg" } };
  }
  // §5: a size over the cap is refused from Content-Length before a byte is read.
  if (tooLarge && announced) return { reasons: ["too-large"] };
  const reasons = [];
  if (tooLarge) reasons.push("too-large");
  if (tooManyPixels) reasons.push("too-many-pixels");
  // Anything but a PNG or JPEG signature is unsupported-type; a file the decoders cannot show
  // in full (and bad-crc: every PNG CRC is checked) is corrupt.
  if (!format) reasons.push("unsupported-type");
  else if (!displayable) reasons.push("corrupt");
  return { reasons };
}

/** Some PNG chunk up to IEND has a wrong CRC (libpng refuses most; the contract checks every one). */
function hasBadCrc(bytes) {
  for (let at = 8; at + 12 <= bytes.length;) {
    const end = at + 8 + bytes.readUInt32BE(at);
    if (end + 4 > bytes.length) return false; // cut short: another category
    if (crc32(bytes.subarray(at + 4, end)) !== bytes.readUInt32BE(end)) return true;
    if (bytes.toString("latin1", at + 4, at + 8) === "IEND") return false;
    at = end + 4;
  }
  return false;
}

/** Categories the sample must cover; a category the stride misses gets its first row by name. */
const CATEGORIES = {
  "displayable PNG": (r) => r.verdict === "displayable" && formatOf(r.bytes) === "png" && expected(r, { announced: true }).stored,
  "displayable JPEG": (r) => r.verdict === "displayable" && !r.kind && formatOf(r.bytes) === "jpeg" && expected(r, { announced: true }).stored,
  "multi-picture JPEG (mpo)": (r) => r.kind === "mpo" && expected(r, { announced: true }).stored,
  "Ultra HDR JPEG": (r) => r.kind === "ultrahdr" && expected(r, { announced: true }).stored,
  "JPEG with a trailer": (r) => r.kind === "trailer" && expected(r, { announced: true }).stored,
  "not-displayable PNG": (r) => r.verdict === "not-displayable" && formatOf(r.bytes) === "png",
  "not-displayable JPEG": (r) => r.verdict === "not-displayable" && formatOf(r.bytes) === "jpeg",
  "first frame cut short": (r) => r.kind === "truncated-first-frame",
  "a PNG with a wrong CRC": (r) => r.verdict !== "displayable" && formatOf(r.bytes) === "png" && hasBadCrc(r.bytes),
  "empty file": (r) => r.bytes.length === 0,
  "no PNG/JPEG signature": (r) => r.bytes.length > 0 && !formatOf(r.bytes),
  "displayable, over MAX_IMAGE_BYTES": (r) => r.verdict === "displayable" && r.bytes.length > LIMITS.MAX_IMAGE_BYTES,
  "displayable, over the pixel limits": (r) => r.verdict === "displayable" && expected(r, { announced: false }).reasons?.includes("too-many-pixels"),
  "header over the pixel limits, not displayable": (r) => r.verdict === "not-displayable" && expected(r, { announced: false }).reasons?.includes("too-many-pixels"),
};

function sample(rows) {
  const picked = new Set(rows.filter((_, i) => i % STRIDE === 0));
  for (const [name, matches] of Object.entries(CATEGORIES)) {
    if (![...picked].some(matches)) {
      const first = rows.find(matches);
      assert.ok(first, `the corpus has no ${name}`);
      picked.add(first);
    }
  }
  return rows.filter((r) => picked.has(r));
}

/** A finite chunked body: `bytes` in about 8 pieces (small files are cut inside their signature).
 * Finite on purpose: Miniflare buffers request bodies. */
function chunked(bytes) {
  const size = Math.max(5, Math.ceil(bytes.length / 8));
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(new Uint8Array(bytes.subarray(at, (at += size))));
    },
  });
}

/**
 * The request of a direct upload of `bytes`, announced or not. Miniflare's dispatchFetch forwards
 * every body as a stream: without an explicit Content-Length header even a Uint8Array reaches the
 * worker chunked (checked by the first test below). An empty body goes with Content-Length: 0
 * either way.
 */
function uploadInit(bytes, { announced, token }) {
  const headers = { "content-type": "application/octet-stream", authorization: `Bearer ${token}` };
  if (announced) return { method: "PUT", headers: { ...headers, "content-length": String(bytes.length) }, body: new Uint8Array(bytes) };
  return { method: "PUT", headers, body: chunked(bytes), duplex: "half" };
}

const ROWS = manifest();
const SAMPLE = sample(ROWS);

describe(`the corpus as direct uploads (${SAMPLE.length} of ${ROWS.length} files)`, () => {
  let ctx;
  before(async () => {
    const vars = Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)]));
    // wrangler.toml's rate limit (30 per 60 s per user): every upload below has its own user.
    ctx = await startWorker({ vars, uploadLimit: 30, logs: true });
  });
  after(() => ctx?.dispose());

  test("the sample is big enough and covers every category", () => {
    assert.ok(SAMPLE.length >= 40, `${SAMPLE.length} files`);
    for (const [name, matches] of Object.entries(CATEGORIES)) assert.ok(SAMPLE.some(matches), name);
    const outcomes = new Set(SAMPLE.map((r) => Object.keys(expected(r, { announced: true }))[0]));
    assert.deepEqual([...outcomes].sort(), ["missing", "reasons", "stored"]);
  });

  test("the two modes: the worker gets Content-Length, or a chunked body without it", async () => {
    const echo = new Miniflare({
      modules: true,
      ...COMPAT,
      script: `export default { async fetch(req) { return Response.json({ length: req.headers.get("content-length"),
        encoding: req.headers.get("transfer-encoding"), received: (await req.arrayBuffer()).byteLength }); } };`,
    });
    try {
      const bytes = Buffer.alloc(70_000, 7);
      const seen = async (announced) => (await echo.dispatchFetch("https://echo.test/", uploadInit(bytes, { announced, token: "t" }))).json();
      assert.deepEqual(await seen(true), { length: "70000", encoding: null, received: 70_000 });
      assert.deepEqual(await seen(false), { length: null, encoding: "chunked", received: 70_000 });
    } finally {
      await echo.dispose();
    }
  });

  for (const row of SAMPLE) {
    for (const announced of [true, false]) {
      const want = expected(row, { announced });
      const outcome = want.stored ? `stored ${row.width}×${row.height}` : want.missing ? "missing-param image" : `invalid-param image ${want.reasons.join("|")}`;
      test(`${row.file} (${row.verdict}${row.kind ? ", " + row.kind : ""}, ${row.bytes.length} B, ${announced ? "Content-Length" : "chunked"}): ${outcome}`, async () => {
        const p = await ctx.prepare();
        const beforeRow = await ctx.getRow(p.id);
        const url = `https://worker.test/api/v1/list_items/upload_image?id=${p.id}`;
        const r = await toResult(await ctx.mf.dispatchFetch(url, uploadInit(row.bytes, { announced, token: p.token })));
        if (want.stored) {
          const { data } = await assertStored(ctx, r, { id: p.id, seeded: p, source: row.bytes, width: row.width, height: row.height, direct: true, ...want.stored });
          assert.equal((await ctx.getRow(p.id)).image_source_url, null);
          // assertStored lists the whole bucket: keep it small.
          await ctx.bucket.delete(data.image.key);
        } else {
          if (want.missing) {
            assert.deepEqual(expectStatus(r, 400, "missing-param").data, { params: ["image"] });
          } else {
            const { data } = expectStatus(r, 400, "invalid-param");
            assert.equal(data.param, "image", JSON.stringify(data));
            assert.ok(want.reasons.includes(data.reason), `reason ${data.reason}, expected ${want.reasons.join(" or ")}`);
          }
          await assertNothingStored(ctx, p.id, beforeRow);
        }
      });
    }
  }
});
