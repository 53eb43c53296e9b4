// Deterministic, high-entropy, valid PNG and JPEG images of a requested size, for benchmarks.
// Same seed, same bytes: the keystream is AES-128-CTR under a fixed key.
//
// PNG: 8-bit RGB, random pixels (filter byte 0 per row), zlib stream of stored deflate blocks
//      (Node's level 0), cut into 64 KiB IDAT chunks. Decodes to noise.
// JPEG: baseline grayscale (SOF0), 8x8 blocks whose quantized DCT coefficients are chosen at
//      random: DC difference always 0, all 63 AC coefficients of size 10 with random bits. One
//      1-bit Huffman code per table keeps the entropy-coded data mostly random bits. Decodes
//      (to saturated noise) with libjpeg.
// The Rust benches (benches/validators.rs) build the same shapes natively.
import { createCipheriv } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";

/** `n` pseudo-random bytes from `seed` (AES-128-CTR keystream). */
export function keystream(n, seed = "bench") {
  const key = Buffer.alloc(16);
  key.write(seed);
  return createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

function pngChunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, "latin1");
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/** A valid RGB PNG of about `size` bytes (within a few hundred bytes). */
export function png(size, seed = "png") {
  const width = Math.max(1, Math.round(Math.sqrt(size / 3)));
  const height = Math.max(1, Math.floor(size / (3 * width + 1)));
  const raw = keystream(height * (3 * width + 1), seed);
  for (let row = 0; row < height; row++) raw[row * (3 * width + 1)] = 0; // filter: none
  const zlib = deflateSync(raw, { level: 0 });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk("IHDR", ihdr)];
  for (let off = 0; off < zlib.length; off += 65536) parts.push(pngChunk("IDAT", zlib.subarray(off, off + 65536)));
  parts.push(pngChunk("IEND", Buffer.alloc(0)));
  return { bytes: Buffer.concat(parts), width, height };
}

const segment = (marker, body) => {
  const head = Buffer.from([0xff, marker, 0, 0]);
  head.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([head, Buffer.from(body)]);
};

/** Bits per block: DC (1-bit code for category 0) + 63 × (1-bit code for run 0/size 10 + 10 bits). */
const BLOCK_BITS = 1 + 63 * 11;

/** A valid baseline grayscale JPEG of about `size` bytes (within about 1%). */
export function jpeg(size, seed = "jpeg") {
  // Entropy bytes ≈ bits/8 plus one stuffed 0x00 per 0xFF (1/256 of random bytes).
  const blocks = Math.max(1, Math.round(size / ((BLOCK_BITS / 8) * (257 / 256))));
  const bw = Math.ceil(Math.sqrt(blocks));
  const bh = Math.max(1, Math.round(blocks / bw));
  const random = keystream(Math.ceil((bw * bh * 63 * 10) / 8) + 8, seed);
  const entropy = Buffer.alloc(Math.ceil(((bw * bh * BLOCK_BITS) / 8) * 1.01) + 16);
  let length = 0;
  let acc = 0; // pending bits, MSB first
  let pending = 0;
  const put = (value, bits) => {
    acc = (acc << bits) | value;
    pending += bits;
    while (pending >= 8) {
      pending -= 8;
      const byte = (acc >>> pending) & 0xff;
      entropy[length++] = byte;
      if (byte === 0xff) entropy[length++] = 0x00; // byte stuffing
    }
    acc &= (1 << pending) - 1;
  };
  let bit = 0;
  const randomBits = (n) => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) v = (v << 1) | ((random[bit >>> 3] >>> (7 - (bit & 7))) & 1);
    return v;
  };
  for (let b = 0; b < bw * bh; b++) {
    put(0, 1); // DC: category 0 (difference 0)
    for (let k = 1; k < 64; k++) {
      put(0, 1); // AC symbol 0x0A: run 0, size 10
      put(randomBits(10), 10); // any 10-bit pattern is a valid size-10 coefficient
    }
  }
  if (pending > 0) put((1 << (8 - pending)) - 1, 8 - pending); // pad with 1-bits

  const width = bw * 8;
  const height = bh * 8;
  const sof = [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0];
  const counts = (n) => [1, ...Array(15).fill(0), n]; // one code of length 1, then the symbol
  const bytes = Buffer.concat([
    Buffer.from([0xff, 0xd8]),
    segment(0xe0, [...Buffer.from("JFIF\0"), 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    segment(0xdb, [0, ...Array(64).fill(1)]), // quantization table 0: all ones
    segment(0xc0, sof),
    segment(0xc4, [0x00, ...counts(0x00)]), // DC table 0: symbol 0 (category 0)
    segment(0xc4, [0x10, ...counts(0x0a)]), // AC table 0: symbol 0x0A
    segment(0xda, [1, 1, 0x00, 0, 63, 0]),
    entropy.subarray(0, length),
    Buffer.from([0xff, 0xd9]),
  ]);
  return { bytes, width, height };
}

export const SIZES = [
  ["100KB", 100_000],
  ["1MB", 1_000_000],
  ["5MB", 5_000_000],
  ["20MB", 20_000_000],
];

/** Every bench image: [{ name, format, label, bytes, width, height, contentType }]. */
export function benchImages(sizes = SIZES) {
  const out = [];
  for (const [label, size] of sizes) {
    out.push({ name: `${label}.png`, format: "png", label, contentType: "image/png", ...png(size, `png-${label}`) });
    out.push({ name: `${label}.jpg`, format: "jpeg", label, contentType: "image/jpeg", ...jpeg(size, `jpeg-${label}`) });
  }
  return out;
}
