// Bodies announced above 1 MiB stream origin → validator → R2 (API.md §5, issue 2/4): the
// object exists only if every byte arrived and the whole image validated.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  buildPng, expectInvalidUrl, expectStoredFrom, fixture, pngChunks, serve, startWorker,
} from "../support/harness.mjs";

/** A valid 64x48 PNG of about `size` bytes: sample.png plus a large private ancillary chunk. */
function bigPng(size) {
  const [ihdr, ...rest] = pngChunks(fixture("sample.png"));
  return buildPng([ihdr, { type: "zzZz", data: randomBytes(size) }, ...rest]);
}

/** sample.jpg with `count` maximal comment segments (64 KiB each) before its frame header. */
function jpegWithLateHeader(count) {
  const jpg = fixture("sample.jpg");
  const comment = Buffer.concat([Buffer.from([0xff, 0xfe, 0xff, 0xff]), randomBytes(0xffff - 2)]);
  return Buffer.concat([jpg.subarray(0, 2), ...Array(count).fill(comment), jpg.subarray(2)]);
}

/** Flip one byte `fromEnd` bytes before the end (inside the last chunks, caught by a CRC). */
function flipNearEnd(buf, fromEnd) {
  const copy = Buffer.from(buf);
  copy[copy.length - fromEnd] ^= 0xff;
  return copy;
}

describe("streaming uploads", () => {
  let ctx;
  const BIG = bigPng(3 * 1024 * 1024);
  before(async () => {
    ctx = await startWorker();
  });
  after(() => ctx?.dispose());
  beforeEach(() => ctx.origin.reset());

  test("3 MiB PNG with Content-Length is streamed into R2 byte-identical", async () => {
    const url = "https://img.example.com/st/big.png";
    await expectStoredFrom(ctx, { url, handler: serve(BIG, { chunks: 40 }), source: BIG, sourceUrl: url });
  });

  test("gzip-encoded body: its Content-Length (of the encoded bytes) is not the image's", async () => {
    const url = "https://img.example.com/st/gzip.png";
    const encoded = gzipSync(BIG, { level: 1 });
    const handler = serve(encoded, { chunks: 40, headers: { "content-encoding": "gzip" } });
    await expectStoredFrom(ctx, { url, handler, source: BIG, sourceUrl: url });
  });

  test("a bad CRC in the middle errors the stream: invalid-url corrupt, no object", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/st/mid.png",
      handler: serve(flipNearEnd(BIG, BIG.length >> 1), { chunks: 40 }),
      reason: "corrupt",
    });
  });

  test("a bad IEND CRC (the very last bytes) still leaves no object", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/st/end.png",
      handler: serve(flipNearEnd(BIG, 1), { chunks: 40 }),
      reason: "corrupt",
    });
  });

  test("body shorter than its Content-Length -> invalid-url, no object", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/st/short.png",
      handler: (req, res) => {
        res.writeHead(200, { "content-type": "image/png", "content-length": String(BIG.length) });
        res.write(BIG.subarray(0, BIG.length - 5000), () => setTimeout(() => req.socket.destroy(), 20));
      },
      reason: ["unreachable", "corrupt"],
    });
  });

  test("Content-Length smaller than the image (origin sends more) -> invalid-url, no object", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/st/long.png",
      handler: (req, res) => {
        res.writeHead(200, { "content-type": "image/png", "content-length": String(BIG.length - 100) });
        res.write(BIG, () => setTimeout(() => req.socket.destroy(), 20));
      },
      reason: ["unreachable", "corrupt"],
    });
  });

  test("body that errors halfway -> invalid-url unreachable, no object", async () => {
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/st/error.png",
      handler: (req, res) => {
        res.writeHead(200, { "content-type": "image/png", "content-length": String(BIG.length) });
        res.write(BIG.subarray(0, BIG.length >> 1), () => setTimeout(() => req.socket.destroy(), 20));
      },
      reason: ["unreachable", "corrupt"],
    });
  });

  test("JPEG whose frame header comes after 1.5 MiB of comments streams from its first byte", async () => {
    // Nothing waits in memory for the header: the bytes go to R2 as they come, the type and
    // dimensions are known only near the end, and the object still gets them.
    const late = jpegWithLateHeader(24);
    const url = "https://img.example.com/st/late-header.jpg";
    const jpeg = { contentType: "image/jpeg", ext: "jpg" };
    await expectStoredFrom(ctx, { url, handler: serve(late, { chunks: 40 }), source: late, sourceUrl: url, ...jpeg });
  });

  test("the same JPEG claiming 65535x65535 pixels is refused after 1.5 MiB: no object", async () => {
    const late = jpegWithLateHeader(24);
    const sof = late.indexOf(Buffer.from([0xff, 0xc0]), 2 + 24 * (0xffff + 2));
    late.writeUInt16BE(0xffff, sof + 5); // height
    late.writeUInt16BE(0xffff, sof + 7); // width
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/st/late-huge.jpg",
      handler: serve(late, { chunks: 40 }),
      reason: "too-many-pixels",
    });
  });

  test("GIF announced as 3 MiB is refused from its first bytes", async () => {
    const gif = Buffer.concat([fixture("sample.gif"), randomBytes(3 * 1024 * 1024)]);
    await expectInvalidUrl(ctx, {
      url: "https://img.example.com/st/big.gif",
      handler: serve(gif, { chunks: 40 }),
      reason: "unsupported-type",
    });
  });
});

describe("streaming with FETCH_TIMEOUT_MS=500", () => {
  let ctx;
  before(async () => {
    ctx = await startWorker({ vars: { FETCH_TIMEOUT_MS: "500" } });
  });
  after(() => ctx?.dispose());

  test("an origin that trickles a streamed body is cut off: timeout, no object", async () => {
    const big = bigPng(2 * 1024 * 1024);
    const { body } = await expectInvalidUrl(ctx, {
      url: "https://img.example.com/st/slow.png",
      handler: serve(big, { chunks: 20, chunkDelayMs: 100 }),
      reason: "timeout",
    });
    assert.equal(body.data.reason, "timeout");
  });
});
