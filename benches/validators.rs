//! Host throughput of the incremental validators (`cargo bench`), pushed chunk by chunk as
//! the worker pushes a fetched body: for PNG and JPEG images of about 100 KB, 1 MB, 5 MB and
//! 20 MB, a plain chunked byte copy of the same buffer (the yardstick) and the validator
//! (PNG: every chunk CRC, in the table code). (In the worker, runs of 2 KiB and more go to
//! node:zlib's native CRC-32, and images are hashed by node:crypto; what the table CRC and
//! SHA-256 cost in wasm is in `npm run bench:wasm`.)
//!
//! The images have the shapes `bench/images.mjs` builds for the Miniflare bench: random RGB
//! pixels in stored deflate blocks, and a baseline JPEG of random size-10 AC coefficients.
//! Summary table: `node bench/criterion-table.mjs` after the run.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use list_items_upload_image::image::{ImageFormat, ImageValidator};

/// The size of the chunks a body is pushed in (workerd hands fetch bodies over in chunks of
/// this order).
const CHUNK: usize = 64 * 1024;

const SIZES: [(&str, usize); 4] = [("100KB", 100_000), ("1MB", 1_000_000), ("5MB", 5_000_000), ("20MB", 20_000_000)];

/// Deterministic pseudo-random bytes (xorshift64*).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

fn png_chunk(out: &mut Vec<u8>, ty: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(ty);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// An RGB PNG of random pixels of about `size` bytes: zlib stream of stored blocks.
fn png(size: usize) -> Vec<u8> {
    let width = ((size as f64 / 3.0).sqrt().round() as usize).max(1);
    let height = (size / (3 * width + 1)).max(1);
    let mut raw = vec![0u8; height * (3 * width + 1)];
    Noise(0x9E37_79B9_7F4A_7C15).fill(&mut raw);
    for row in raw.chunks_mut(3 * width + 1) {
        row[0] = 0; // filter: none
    }
    let mut zlib = vec![0x78, 0x01];
    let blocks = raw.chunks(65_535);
    let last = blocks.len() - 1;
    for (i, block) in blocks.enumerate() {
        zlib.push(u8::from(i == last)); // BFINAL, BTYPE 00 (stored)
        zlib.extend_from_slice(&(block.len() as u16).to_le_bytes());
        zlib.extend_from_slice(&(!(block.len() as u16)).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in &raw {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());

    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    for idat in zlib.chunks(65_536) {
        png_chunk(&mut out, b"IDAT", idat);
    }
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn jpeg_segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

/// A baseline grayscale JPEG of about `size` bytes: every block has DC difference 0 and 63
/// AC coefficients of size 10 with random bits; one 1-bit Huffman code per table.
fn jpeg(size: usize) -> Vec<u8> {
    const BLOCK_BITS: usize = 1 + 63 * 11;
    let blocks = ((size as f64 / (BLOCK_BITS as f64 / 8.0 * 257.0 / 256.0)).round() as usize).max(1);
    let bw = (blocks as f64).sqrt().ceil() as usize;
    let bh = ((blocks as f64 / bw as f64).round() as usize).max(1);
    let (width, height) = ((bw * 8) as u16, (bh * 8) as u16);

    let mut out = vec![0xFF, 0xD8];
    jpeg_segment(&mut out, 0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1; 64]);
    jpeg_segment(&mut out, 0xDB, &dqt);
    let [h0, h1] = height.to_be_bytes();
    let [w0, w1] = width.to_be_bytes();
    jpeg_segment(&mut out, 0xC0, &[8, h0, h1, w0, w1, 1, 1, 0x11, 0]);
    for (class, symbol) in [(0x00, 0x00), (0x10, 0x0A)] {
        let mut dht = vec![class, 1];
        dht.extend_from_slice(&[0; 15]);
        dht.push(symbol);
        jpeg_segment(&mut out, 0xC4, &dht);
    }
    jpeg_segment(&mut out, 0xDA, &[1, 1, 0x00, 0, 63, 0]);

    let mut noise = Noise(0xD1B5_4A32_D192_ED03);
    let (mut acc, mut pending) = (0u64, 0u32);
    let mut put = |out: &mut Vec<u8>, value: u64, bits: u32| {
        acc = (acc << bits) | value;
        pending += bits;
        while pending >= 8 {
            pending -= 8;
            let byte = (acc >> pending) as u8;
            out.push(byte);
            if byte == 0xFF {
                out.push(0x00);
            }
        }
        acc &= (1 << pending) - 1;
    };
    for _ in 0..bw * bh {
        put(&mut out, 0, 1);
        for _ in 0..63 {
            put(&mut out, noise.next() & 0x3FF, 11); // code 0 + 10 random bits
        }
    }
    put(&mut out, 0x7F, 7); // pad the last byte with 1-bits
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn validate(bytes: &[u8]) -> ImageFormat {
    let mut validator = ImageValidator::new();
    for chunk in bytes.chunks(CHUNK) {
        validator.push(chunk).expect("valid image");
    }
    validator.finish().expect("complete image").format
}

fn copy(bytes: &[u8], into: &mut [u8]) {
    for (chunk, dest) in bytes.chunks(CHUNK).zip(into.chunks_mut(CHUNK)) {
        dest.copy_from_slice(chunk);
    }
}

fn validators(c: &mut Criterion) {
    for (format, build) in [("png", png as fn(usize) -> Vec<u8>), ("jpeg", jpeg)] {
        let mut group = c.benchmark_group(format);
        group.warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
        for (label, size) in SIZES {
            let bytes = build(size);
            assert_eq!(validate(&bytes), if format == "png" { ImageFormat::Png } else { ImageFormat::Jpeg });
            let mut into = vec![0u8; bytes.len()];
            group.throughput(Throughput::BytesDecimal(bytes.len() as u64));
            group.bench_function(BenchmarkId::new("copy", label), |b| b.iter(|| copy(black_box(&bytes), &mut into)));
            group.bench_function(BenchmarkId::new("validator", label), |b| b.iter(|| validate(black_box(&bytes))));
        }
        group.finish();
    }
}

criterion_group!(benches, validators);
criterion_main!(benches);
