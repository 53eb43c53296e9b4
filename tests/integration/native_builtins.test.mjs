// PNG chunk CRCs and the image SHA-256 run natively, as node:zlib's crc32 and node:crypto's
// createHash reached through wrangler.toml's `nodejs_compat` flag (src/node_builtins.rs). A
// runtime without the flag falls back to the wasm code and says so once in the log. Both must
// give the same verdicts and record the same sha256 (of the bytes, as node:crypto here sees
// them), on real files whose chunks span the 64 KiB slices the worker validates at a time.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { COMPAT, ROOT, expectInvalidUrl, expectStoredFrom, fixture, serve, startWorker } from "../support/harness.mjs";

const corpus = (file) => readFileSync(path.join(ROOT, "tests", "corpus", file));
/** image-rs's test copy of Kodak's kodim23: IHDR, gAMA, sRGB, tEXt, a 512 KiB IDAT (over nine
 * slices), a 33 KB IDAT, IEND. */
const KODIM = corpus("pngsuite-image-png/benches_kodim23.png");
const FIRST_IDAT = 94; // offset of its length field
const SECOND_IDAT = FIRST_IDAT + 12 + 524_288;
const PHOTO = corpus("pillow/icc_profile_big.jpg"); // 512 KB JPEG with a large ICC profile
const WARNING = /nodejs_compat/;

function flipped(bytes, at) {
  const copy = Buffer.from(bytes);
  copy[at] ^= 0x01;
  return copy;
}

for (const [runtime, compat, warns] of [
  ["as deployed (nodejs_compat)", COMPAT, false],
  ["without nodejs_compat (wasm fallback)", { ...COMPAT, compatibilityFlags: COMPAT.compatibilityFlags.filter((f) => f !== "nodejs_compat") }, true],
]) {
  describe(`native CRC-32 and SHA-256, ${runtime}`, () => {
    let ctx;
    before(async () => {
      assert.equal(KODIM.readUInt32BE(FIRST_IDAT), 524_288);
      assert.equal(KODIM.subarray(SECOND_IDAT + 4, SECOND_IDAT + 8).toString("latin1"), "IDAT");
      ctx = await startWorker({ logs: true, compat });
    });
    after(() => ctx?.dispose());

    test("a PNG whose 512 KiB IDAT spans nine slices is stored, with its sha256", async () => {
      const url = "https://img.example.com/native/kodim23.png";
      await expectStoredFrom(ctx, { url, handler: serve(KODIM, { chunks: 7 }), source: KODIM, sourceUrl: url, width: 768, height: 512 });
    });

    for (const [where, at] of [
      ["in the middle of the spanning IDAT (fifth slice)", FIRST_IDAT + 8 + 300_000],
      ["in the spanning IDAT's own CRC", SECOND_IDAT - 2],
      ["in the second IDAT, within one slice", SECOND_IDAT + 8 + 20_000],
    ]) {
      test(`one flipped bit ${where} -> invalid-url corrupt, nothing stored`, async () => {
        await expectInvalidUrl(ctx, { url: `https://img.example.com/native/flip-${at}.png`, handler: serve(flipped(KODIM, at)), reason: "corrupt" });
      });
    }

    test("a 512 KB JPEG photo is stored, with its sha256", async () => {
      const url = "https://img.example.com/native/photo.jpg";
      await expectStoredFrom(ctx, { url, handler: serve(PHOTO, { contentType: "image/jpeg" }), source: PHOTO, sourceUrl: url, contentType: "image/jpeg", ext: "jpg", width: 425, height: 250 });
    });

    test("a small PNG (every run under the native threshold) is stored, with its sha256", async () => {
      const png = fixture("sample.png");
      const url = "https://img.example.com/native/sample.png";
      await expectStoredFrom(ctx, { url, handler: serve(png), source: png, sourceUrl: url });
    });

    test(`the log ${warns ? "warns once that" : "does not warn that"} the builtins are missing`, () => {
      const warnings = ctx.logs.filter((entry) => WARNING.test(entry.message));
      assert.equal(warnings.length, warns ? 1 : 0, JSON.stringify(warnings));
      if (warns) assert.equal(warnings[0].level, "warn");
    });
  });
}
