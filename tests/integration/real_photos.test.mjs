// Real photos with bytes after their first image (issue 2.1/4): a multi-picture JPEG and an
// Ultra HDR JPEG are stored byte for byte with the first frame's dimensions; cut inside the
// first frame's scan, the same files are `corrupt`. The files come from tests/corpus (see
// MANIFEST.tsv for their sources). Dimensions are read from the response and D1, the bytes
// from R2 (R2 metadata is not where the contract keeps width/height).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import { ROOT, expectInvalidUrl, expectStatus, sha256, serve, startWorker } from "../support/harness.mjs";

const corpus = (file) => readFileSync(path.join(ROOT, "tests", "corpus", file));

const PHOTOS = [
  // A stereo camera's MPO: two 640×480 frames.
  { what: "an MPO", file: "pillow/sugarshack.mpo", width: 640, height: 480 },
  // An SDR JPEG followed by its gain-map JPEG, made by the pyultrahdr encoder.
  { what: "an Ultra HDR JPEG", file: "generated/flower_ultrahdr.jpg", width: 480, height: 360 },
];

/** Byte offset just past the first EOI marker that ends a frame (skipping segment bodies). */
function firstImageEnd(bytes) {
  let at = 2;
  while (at < bytes.length) {
    if (bytes[at] !== 0xff || bytes[at + 1] === 0xff) { at++; continue; }
    const marker = bytes[at + 1];
    if (marker === 0xd9) return at + 2;
    if (marker === 0x00 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { at += 2; continue; }
    at += 2 + bytes.readUInt16BE(at + 2);
    if (marker === 0xda) { // entropy data up to the next marker that is not RSTn / stuffing
      while (at < bytes.length && !(bytes[at] === 0xff && bytes[at + 1] !== 0x00 && bytes[at + 1] !== 0xff
        && !(bytes[at + 1] >= 0xd0 && bytes[at + 1] <= 0xd7))) at++;
    }
  }
  throw new Error("no EOI");
}

/** Offset in the middle of the first frame's first scan. */
function insideFirstScan(bytes) {
  const sos = bytes.indexOf(Buffer.from([0xff, 0xda]));
  assert.ok(sos > 0);
  return Math.floor((sos + firstImageEnd(bytes)) / 2);
}

describe("real photos with more than one image", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  for (const { what, file, width, height } of PHOTOS) {
    const source = corpus(file);

    test(`${what} is stored byte for byte with the first frame's size`, async () => {
      assert.ok(firstImageEnd(source) < source.length, "the file has bytes after its first image");
      const url = `https://img.example.com/real/${path.basename(file)}`;
      const p = await ctx.prepare({ url, handler: serve(source, { contentType: "image/jpeg" }) });
      const r = await ctx.put({ token: p.token, id: p.id, image_url: url });
      const image = expectStatus(r, 200, "action-successful").data.image;
      assert.equal(image.content_type, "image/jpeg");
      assert.match(image.key, new RegExp(`^list_items/${p.id}/[0-9a-f]{32}\\.jpg$`));
      assert.deepEqual([image.width, image.height, image.bytes, image.sha256], [width, height, source.length, sha256(source)]);
      const row = await ctx.getRow(p.id);
      assert.deepEqual([row.image_key, row.image_width, row.image_height], [image.key, width, height]);
      const stored = Buffer.from(await (await ctx.bucket.get(image.key)).arrayBuffer());
      assert.ok(stored.equals(source), "R2 holds the origin's bytes, every frame included");
    });

    test(`${what} cut inside its first frame's scan is corrupt`, async () => {
      const cut = source.subarray(0, insideFirstScan(source));
      const url = `https://img.example.com/real/cut-${path.basename(file)}`;
      await expectInvalidUrl(ctx, { url, handler: serve(cut, { contentType: "image/jpeg" }), reason: "corrupt" });
    });
  }
});
