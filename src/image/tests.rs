//! Fixture-driven tests: real files from several encoders (see scripts/make_fixtures.py),
//! fed whole, byte by byte and in random chunks; every truncation; byte flips; files
//! edited chunk by chunk / segment by segment; other formats.

use super::{ImageFormat, ImageInfo, ImageValidator, Rejection};
use std::path::PathBuf;

use ImageFormat::{Jpeg, Png};

/// Every valid PNG/JPEG fixture with its expected format and dimensions.
const VALID: &[(&str, ImageFormat, u32, u32)] = &[
    // Pre-existing fixtures.
    ("sample.png", Png, 64, 48),
    ("large.png", Png, 640, 480),
    ("sample.jpg", Jpeg, 64, 48),
    ("sample-progressive.jpg", Jpeg, 64, 48),
    // PNG: Pillow.
    ("png-rgb-pillow.png", Png, 64, 48),
    ("png-rgba-pillow.png", Png, 64, 48),
    ("png-paletted-pillow.png", Png, 64, 48),
    ("png-gray-pillow.png", Png, 64, 48),
    ("png-gray16-pillow.png", Png, 64, 48),
    ("png-1bit-pillow.png", Png, 64, 48),
    ("png-text-chunks-pillow.png", Png, 32, 24),
    ("png-apng-pillow.png", Png, 32, 24),
    // PNG: ImageMagick.
    ("png-interlaced-magick.png", Png, 64, 48),
    ("png-rgb16-magick.png", Png, 64, 48),
    ("png-gray-alpha-magick.png", Png, 64, 48),
    ("png-paletted-magick.png", Png, 64, 48),
    ("png-rgba-interlaced-magick.png", Png, 64, 48),
    // PNG: pngcrush, hand-assembled.
    ("png-reduced-pngcrush.png", Png, 64, 48),
    ("png-multi-idat-python.png", Png, 24, 16),
    // JPEG: Pillow.
    ("jpeg-baseline-420-pillow.jpg", Jpeg, 64, 48),
    ("jpeg-baseline-444-pillow.jpg", Jpeg, 64, 48),
    ("jpeg-progressive-pillow.jpg", Jpeg, 64, 48),
    ("jpeg-cmyk-pillow.jpg", Jpeg, 64, 48),
    ("jpeg-gray-pillow.jpg", Jpeg, 64, 48),
    ("jpeg-exif-icc-pillow.jpg", Jpeg, 64, 48),
    ("jpeg-restart-pillow.jpg", Jpeg, 64, 48),
    // JPEG: ImageMagick.
    ("jpeg-baseline-magick.jpg", Jpeg, 64, 48),
    ("jpeg-444-magick.jpg", Jpeg, 64, 48),
    ("jpeg-progressive-magick.jpg", Jpeg, 64, 48),
    ("jpeg-cmyk-magick.jpg", Jpeg, 64, 48),
    ("jpeg-gray-magick.jpg", Jpeg, 64, 48),
    // JPEG: libjpeg-turbo tools, hand-edited.
    ("jpeg-restart-cjpeg.jpg", Jpeg, 64, 48),
    ("jpeg-arithmetic-cjpeg.jpg", Jpeg, 64, 48),
    ("jpeg-progressive-arithmetic-cjpeg.jpg", Jpeg, 64, 48),
    ("jpeg-optimized-smooth-cjpeg.jpg", Jpeg, 64, 48),
    ("jpeg-progressive-restart-jpegtran.jpg", Jpeg, 64, 48),
    ("jpeg-grayscale-optimized-jpegtran.jpg", Jpeg, 64, 48),
];

/// PNG/JPEG fixtures the decoders refuse: TEM before the first scan stops Pillow's marker
/// parser (libjpeg alone would show it).
const REFUSED: &[&str] = &["jpeg-fill-bytes-tem-python.jpg"];

/// Fixtures of other formats: must be rejected as unsupported.
const UNSUPPORTED: &[&str] = &[
    "sample.gif",
    "sample.webp",
    "sample.svg",
    "sample.html",
    "unsupported-bmp-pillow.bmp",
    "unsupported-tiff-pillow.tiff",
];

/// Quadratic tests only run on fixtures up to this size.
const SMALL: usize = 8 * 1024;

fn fixture_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/images");
    if dir.is_dir() {
        dir
    } else {
        // Scratch crates that include this module by path.
        PathBuf::from("/work/main/tests/fixtures/images")
    }
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_dir().join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn valid() -> impl Iterator<Item = (&'static str, Vec<u8>, ImageInfo)> {
    VALID.iter().map(|&(name, format, width, height)| {
        (
            name,
            fixture(name),
            ImageInfo {
                format,
                width,
                height,
            },
        )
    })
}

fn validate(bytes: &[u8]) -> Result<ImageInfo, Rejection> {
    let mut v = ImageValidator::new();
    v.push(bytes)?;
    v.finish()
}

/// Feeds `bytes` in the given chunk sizes (cycled); stops at the first error.
fn validate_chunked(
    bytes: &[u8],
    mut next_size: impl FnMut() -> usize,
) -> Result<ImageInfo, Rejection> {
    let mut v = ImageValidator::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (head, tail) = rest.split_at(next_size().clamp(1, rest.len()));
        v.push(head)?;
        rest = tail;
    }
    v.finish()
}

/// Tiny deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

// ---------------------------------------------------------------------------------------
// Valid files.

#[test]
fn every_image_fixture_is_classified() {
    for entry in std::fs::read_dir(fixture_dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let known = VALID.iter().any(|v| v.0 == name)
            || UNSUPPORTED.contains(&name.as_str())
            || REFUSED.contains(&name.as_str());
        assert!(known, "fixture {name} is not listed in src/image/tests.rs");
    }
}

#[test]
fn refused_fixtures_are_corrupt() {
    for name in REFUSED {
        assert_eq!(validate(&fixture(name)), Err(Rejection::Corrupt), "{name}");
    }
}

#[test]
fn valid_fixtures_whole_bytewise_and_random_chunks() {
    for (name, bytes, expected) in valid() {
        assert_eq!(validate(&bytes), Ok(expected), "{name} whole");
        assert_eq!(
            validate_chunked(&bytes, || 1),
            Ok(expected),
            "{name} 1-byte chunks"
        );
        for seed in 1..=8u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let max = [2, 3, 7, 64, 1000, 5000, 70_000, 1 << 20][(seed as usize - 1) % 8];
            let r = validate_chunked(&bytes, || rng.below(max) as usize + 1);
            assert_eq!(r, Ok(expected), "{name} random chunks seed {seed}");
        }
        // Interleaved empty pushes change nothing.
        let mut v = ImageValidator::new();
        for b in &bytes {
            v.push(&[]).unwrap();
            v.push(core::slice::from_ref(b)).unwrap();
        }
        assert_eq!(v.finish(), Ok(expected), "{name} with empty pushes");
    }
}

/// Offset just past the header that must make `info()` available: IHDR's CRC for PNG,
/// the first SOFn segment for JPEG.
fn header_end(bytes: &[u8], format: ImageFormat) -> usize {
    match format {
        Png => 8 + 8 + 13 + 4,
        Jpeg => {
            let sof = jpeg_walk(bytes)
                .into_iter()
                .find(|m| is_sof(m.code))
                .expect("fixture has a frame header");
            sof.body.end
        }
    }
}

#[test]
fn format_and_info_are_known_early() {
    for (name, bytes, expected) in valid() {
        let signature = if expected.format == Png { 8 } else { 3 };
        let header_end = header_end(&bytes, expected.format);
        assert!(header_end < bytes.len());
        let mut v = ImageValidator::new();
        for (i, b) in bytes.iter().enumerate() {
            let fed = i;
            let want_format = (fed >= signature).then_some(expected.format);
            assert_eq!(v.format(), want_format, "{name} format after {fed} bytes");
            let want_info = (fed >= header_end).then_some(expected);
            assert_eq!(v.info(), want_info, "{name} info after {fed} bytes");
            v.push(core::slice::from_ref(b)).unwrap();
        }
        assert_eq!(v.info(), Some(expected));
        assert_eq!(v.finish(), Ok(expected));
    }
}

// ---------------------------------------------------------------------------------------
// Truncation, trailing data, byte flips.

#[test]
fn every_truncation_is_corrupt() {
    for (name, bytes, _) in valid() {
        // Snapshot the incremental state after every prefix (O(n) for large files)...
        let mut v = ImageValidator::new();
        for (len, b) in bytes.iter().enumerate() {
            assert_eq!(
                v.clone().finish(),
                Err(if len == 0 {
                    Rejection::Empty
                } else {
                    Rejection::Corrupt
                }),
                "{name} truncated to {len}"
            );
            v.push(core::slice::from_ref(b)).unwrap();
        }
        // ...and feed every prefix from scratch in one push for the small ones.
        if bytes.len() <= SMALL {
            for len in 1..bytes.len() {
                assert_eq!(
                    validate(&bytes[..len]),
                    Err(Rejection::Corrupt),
                    "{name} prefix {len}"
                );
            }
        }
    }
}

/// Bytes after the first image (MPO frames, gain maps, trailers, padding, anything) are
/// stored unchanged: they change neither the verdict nor the dimensions.
#[test]
fn trailing_bytes_are_stored() {
    let png = fixture("sample.png");
    let jpeg = fixture("sample.jpg");
    for (name, bytes, expected) in valid() {
        let trailers: [&[u8]; 8] = [
            b"\0",
            b"\n",
            b"\xFF",
            b"\xFF\xD9",
            b"<?php echo 1; ?>",
            b"PK\x03\x04",
            &png,
            &jpeg,
        ];
        for trailer in trailers {
            let mut polyglot = bytes.clone();
            polyglot.extend_from_slice(trailer);
            assert_eq!(
                validate(&polyglot),
                Ok(expected),
                "{name} + {} bytes",
                trailer.len()
            );
            assert_eq!(validate_chunked(&polyglot, || 1), Ok(expected), "{name}");
        }
    }
}

#[test]
fn png_single_byte_flips_never_pass() {
    let mut checked = 0;
    for (name, bytes, expected) in valid() {
        if expected.format != Png || bytes.len() > SMALL {
            continue;
        }
        let mut prefix = ImageValidator::new();
        for i in 0..bytes.len() {
            for mask in [0xFFu8, 0x01, 0x80] {
                let mut v = prefix.clone();
                let r = v
                    .push(&[bytes[i] ^ mask])
                    .and_then(|()| v.push(&bytes[i + 1..]))
                    .and_then(|()| v.finish());
                assert!(r.is_err(), "{name}: offset {i} ^ {mask:#04x} accepted");
                checked += 1;
            }
            prefix.push(&bytes[i..=i]).unwrap();
        }
    }
    assert!(checked > 10_000);
}

/// Flips no decoder can pass over: SOI, the frame's precision and component count, a scan's
/// component count, and marker codes turned into reserved ones. (A flipped `FF` or length
/// byte now only makes junk that libjpeg skips to the next marker, as the validator does;
/// the corpus and the fuzz targets judge those against real decoders.)
#[test]
fn jpeg_structure_flips_never_pass() {
    for (name, bytes, expected) in valid() {
        if expected.format != Jpeg {
            continue;
        }
        let mut offsets: Vec<(usize, &str)> = vec![(0, "SOI"), (1, "SOI")];
        for m in jpeg_walk(&bytes) {
            offsets.push((m.ff + 1, "marker code"));
            if is_sof(m.code) {
                offsets.push((m.body.start, "SOF precision"));
                offsets.push((m.body.start + 5, "SOF Nf"));
            }
            if m.code == 0xDA {
                offsets.push((m.body.start, "SOS Ns"));
            }
        }
        for (offset, what) in offsets {
            for mask in [0xFFu8, 0x01, 0x80] {
                let orig = bytes[offset];
                let flipped = orig ^ mask;
                if what == "marker code" && !(0x02..=0xBF).contains(&flipped) {
                    continue; // only flips into reserved codes are always fatal
                }
                let mut bad = bytes.clone();
                bad[offset] = flipped;
                assert!(
                    validate(&bad).is_err(),
                    "{name}: {what} at {offset} ({orig:#04x} -> {flipped:#04x}) accepted"
                );
            }
        }
    }
}

#[test]
fn random_corruption_never_panics_and_stays_consistent() {
    let mut rng = Rng(0xDEAD_BEEF);
    for (name, bytes, _) in valid() {
        if bytes.len() > SMALL {
            continue;
        }
        for _ in 0..200 {
            let mut bad = bytes.clone();
            for _ in 0..=rng.below(4) {
                let i = rng.below(bad.len() as u64) as usize;
                match rng.below(3) {
                    0 => bad[i] = rng.next() as u8,
                    1 => {
                        bad.remove(i);
                    }
                    _ => bad.insert(i, rng.next() as u8),
                }
            }
            let whole = validate(&bad);
            let bytewise = validate_chunked(&bad, || 1);
            assert_eq!(whole, bytewise, "{name}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Other formats.

#[test]
fn other_formats_are_unsupported() {
    let mut inputs: Vec<(String, Vec<u8>)> = UNSUPPORTED
        .iter()
        .map(|n| (n.to_string(), fixture(n)))
        .collect();
    for (what, bytes) in [
        ("text", &b"hello world\n"[..]),
        ("json", b"{\"a\":1}"),
        ("xml", b"<?xml version=\"1.0\"?><svg/>"),
        ("pdf", b"%PDF-1.7\n"),
        ("zip", b"PK\x03\x04"),
        ("ico", b"\x00\x00\x01\x00"),
        ("avif", b"\x00\x00\x00\x1cftypavif"),
        ("jxl", b"\xFF\x0A"),
        ("utf8 bom", b"\xEF\xBB\xBF<svg/>"),
        ("mng", b"\x8AMNG\r\n\x1A\n"),
        ("png lookalike", b"\x89PNG\r\n\x1A\x00"),
        ("jpeg lookalike", b"\xFF\xD8\x00"),
    ] {
        inputs.push((what.to_string(), bytes.to_vec()));
    }
    for (what, bytes) in inputs {
        assert_eq!(validate(&bytes), Err(Rejection::UnsupportedType), "{what}");
        assert_eq!(
            validate_chunked(&bytes, || 1),
            Err(Rejection::UnsupportedType),
            "{what}"
        );
        // Decided within the first few bytes.
        let mut v = ImageValidator::new();
        let r = v.push(&bytes[..bytes.len().min(8)]);
        assert_eq!(r, Err(Rejection::UnsupportedType), "{what} decided early");
        assert_eq!(v.format(), None);
    }
    assert_eq!(validate(b""), Err(Rejection::Empty));
}

// ---------------------------------------------------------------------------------------
// PNG edited chunk by chunk.

struct Chunk {
    ty: [u8; 4],
    data: Vec<u8>,
}

fn png_chunks(bytes: &[u8]) -> Vec<Chunk> {
    let mut out = Vec::new();
    let mut i = 8;
    while i < bytes.len() {
        let len = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        let ty = bytes[i + 4..i + 8].try_into().unwrap();
        out.push(Chunk {
            ty,
            data: bytes[i + 8..i + 8 + len].to_vec(),
        });
        i += 12 + len;
    }
    out
}

fn png_build(chunks: &[Chunk]) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1A\n".to_vec();
    for c in chunks {
        out.extend_from_slice(&(c.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&c.ty);
        out.extend_from_slice(&c.data);
        let mut h = crc32fast::Hasher::new();
        h.update(&c.ty);
        h.update(&c.data);
        out.extend_from_slice(&h.finalize().to_be_bytes());
    }
    out
}

fn png_fixtures() -> impl Iterator<Item = (&'static str, Vec<Chunk>)> {
    valid()
        .filter(|(_, _, i)| i.format == Png)
        .map(|(n, b, _)| (n, png_chunks(&b)))
}

#[test]
fn png_rebuild_roundtrip() {
    for (name, bytes, expected) in valid().filter(|v| v.2.format == Png) {
        assert_eq!(png_build(&png_chunks(&bytes)), bytes, "{name}");
        assert_eq!(validate(&png_build(&png_chunks(&bytes))), Ok(expected));
    }
}

#[test]
fn png_zero_or_huge_dimensions() {
    for (name, chunks) in png_fixtures() {
        for (range, value) in [
            (0..4, 0u32),
            (4..8, 0),
            (0..4, 0x8000_0000),
            (4..8, u32::MAX),
        ] {
            let mut edited = png_build(&chunks);
            let mut c = png_chunks(&edited);
            c[0].data[range.clone()].copy_from_slice(&value.to_be_bytes());
            edited = png_build(&c);
            assert_eq!(
                validate(&edited),
                Err(Rejection::Corrupt),
                "{name} {range:?}={value}"
            );
        }
    }
}

#[test]
fn png_missing_or_split_idat() {
    let text = || Chunk {
        ty: *b"tEXt",
        data: b"k\0v".to_vec(),
    };
    for (name, chunks) in png_fixtures() {
        let without: Vec<Chunk> = png_chunks(&png_build(&chunks))
            .into_iter()
            .filter(|c| &c.ty != b"IDAT")
            .collect();
        assert_eq!(
            validate(&png_build(&without)),
            Err(Rejection::Corrupt),
            "{name} no IDAT"
        );

        // Split the first IDAT in two around an ancillary chunk.
        let mut split = png_chunks(&png_build(&chunks));
        let at = split.iter().position(|c| &c.ty == b"IDAT").unwrap();
        let data = split[at].data.clone();
        let half = data.len() / 2;
        split[at].data = data[..half].to_vec();
        split.insert(
            at + 1,
            Chunk {
                ty: *b"IDAT",
                data: data[half..].to_vec(),
            },
        );
        assert!(validate(&png_build(&split)).is_ok(), "{name} split IDAT");
        split.insert(at + 1, text());
        assert_eq!(
            validate(&png_build(&split)),
            Err(Rejection::Corrupt),
            "{name} interrupted IDAT"
        );
    }
}

#[test]
fn png_palette_rules_on_real_files() {
    for (name, chunks) in png_fixtures() {
        let colour = chunks[0].data[9];
        let has_plte = chunks.iter().any(|c| &c.ty == b"PLTE");
        if colour == 3 {
            assert!(has_plte, "{name}");
            let without: Vec<Chunk> = png_chunks(&png_build(&chunks))
                .into_iter()
                .filter(|c| &c.ty != b"PLTE")
                .collect();
            assert_eq!(
                validate(&png_build(&without)),
                Err(Rejection::Corrupt),
                "{name} no PLTE"
            );
            // PLTE moved after IDAT.
            let mut moved = png_chunks(&png_build(&chunks));
            let p = moved.iter().position(|c| &c.ty == b"PLTE").unwrap();
            let plte = moved.remove(p);
            let iend = moved.len() - 1;
            moved.insert(iend, plte);
            assert_eq!(
                validate(&png_build(&moved)),
                Err(Rejection::Corrupt),
                "{name} late PLTE"
            );
        }
        if colour == 0 || colour == 4 {
            let mut with = png_chunks(&png_build(&chunks));
            with.insert(
                1,
                Chunk {
                    ty: *b"PLTE",
                    data: vec![0; 6],
                },
            );
            // libpng ignores it (a benign error), Pillow too.
            assert_eq!(
                validate(&png_build(&with)),
                validate(&png_build(&chunks)),
                "{name} PLTE in grey"
            );
        }
    }
}

#[test]
fn png_iend_and_ihdr_order() {
    for (name, chunks) in png_fixtures() {
        let n = chunks.len();
        // IEND removed, IEND duplicated, IHDR not first, IEND with data.
        let mut c = png_chunks(&png_build(&chunks));
        c.pop();
        assert_eq!(
            validate(&png_build(&c)),
            Err(Rejection::Corrupt),
            "{name} no IEND"
        );
        let mut c = png_chunks(&png_build(&chunks));
        c.swap(0, 1);
        assert_eq!(
            validate(&png_build(&c)),
            Err(Rejection::Corrupt),
            "{name} IHDR second"
        );
        let mut c = png_chunks(&png_build(&chunks));
        c[n - 1].data = vec![0];
        assert_eq!(
            validate(&png_build(&c)),
            Err(Rejection::Corrupt),
            "{name} IEND data"
        );
    }
}

// ---------------------------------------------------------------------------------------
// JPEG edited segment by segment.

struct Marker {
    /// Offset of the `FF` right before the code.
    ff: usize,
    code: u8,
    /// Segment body (after the length).
    body: std::ops::Range<usize>,
}

fn is_sof(m: u8) -> bool {
    matches!(m, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// Test-side marker walker (independent of the validator) for well-formed fixtures.
fn jpeg_walk(b: &[u8]) -> Vec<Marker> {
    let mut out = Vec::new();
    let mut i = 2;
    while i < b.len() {
        assert_eq!(b[i], 0xFF, "walker lost sync at {i}");
        while b[i] == 0xFF {
            i += 1;
        }
        let (ff, code) = (i - 1, b[i]);
        i += 1;
        if code == 0x01 || code == 0xD9 {
            out.push(Marker { ff, code, body: i..i });
            continue;
        }
        let len = u16::from_be_bytes([b[i], b[i + 1]]) as usize;
        out.push(Marker { ff, code, body: i + 2..i + len });
        i += len;
        if code == 0xDA {
            // Skip entropy data up to the next non-RST marker.
            loop {
                let j = i + b[i..].iter().position(|&x| x == 0xFF).unwrap();
                let mut k = j;
                while b[k] == 0xFF {
                    k += 1;
                }
                if b[k] == 0x00 || (0xD0..=0xD7).contains(&b[k]) {
                    i = k + 1;
                } else {
                    i = j;
                    break;
                }
            }
        }
    }
    out
}

fn jpeg_fixtures() -> impl Iterator<Item = (&'static str, Vec<u8>, Vec<Marker>)> {
    valid()
        .filter(|(_, _, i)| i.format == Jpeg)
        .map(|(n, b, _)| {
            let m = jpeg_walk(&b);
            (n, b, m)
        })
}

fn splice(bytes: &[u8], range: std::ops::Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = bytes[..range.start].to_vec();
    out.extend_from_slice(with);
    out.extend_from_slice(&bytes[range.end..]);
    out
}

#[test]
fn jpeg_walker_agrees_with_fixtures() {
    for (name, bytes, markers) in jpeg_fixtures() {
        let last = markers.last().unwrap();
        assert_eq!((last.code, last.ff + 2), (0xD9, bytes.len()), "{name}");
        assert_eq!(
            markers.iter().filter(|m| is_sof(m.code)).count(),
            1,
            "{name}"
        );
    }
}

#[test]
fn jpeg_zero_dimensions() {
    for (name, bytes, markers) in jpeg_fixtures() {
        let sof = markers.iter().find(|m| is_sof(m.code)).unwrap();
        for at in [sof.body.start + 1, sof.body.start + 3] {
            let bad = splice(&bytes, at..at + 2, &[0, 0]);
            assert_eq!(
                validate(&bad),
                Err(Rejection::Corrupt),
                "{name} zero dimension at {at}"
            );
        }
    }
}

#[test]
fn jpeg_missing_or_duplicated_segments() {
    for (name, bytes, markers) in jpeg_fixtures() {
        let sof = markers.iter().find(|m| is_sof(m.code)).unwrap();
        let first_sos = markers.iter().find(|m| m.code == 0xDA).unwrap();
        let eoi = markers.last().unwrap();
        let sof_bytes = bytes[sof.ff..sof.body.end].to_vec();

        // Missing SOS: everything from the first scan up to EOI removed.
        let bad = splice(&bytes, first_sos.ff..eoi.ff, &[]);
        assert_eq!(validate(&bad), Err(Rejection::Corrupt), "{name} no SOS");
        // Missing frame header.
        let bad = splice(&bytes, sof.ff..sof.body.end, &[]);
        assert_eq!(validate(&bad), Err(Rejection::Corrupt), "{name} no SOF");
        // Second frame header, before or after the first scan.
        let bad = splice(&bytes, sof.ff..sof.ff, &sof_bytes);
        assert_eq!(validate(&bad), Err(Rejection::Corrupt), "{name} two SOF");
        let bad = splice(&bytes, eoi.ff..eoi.ff, &sof_bytes);
        assert_eq!(
            validate(&bad),
            Err(Rejection::Corrupt),
            "{name} SOF after scan"
        );
        // A second SOI, a reserved marker, JPG0, DHP, TEM (Pillow's parser stops at it).
        for inserted in [
            &[0xFF, 0xD8][..],
            &[0xFF, 0x02],
            &[0xFF, 0xF0, 0, 2],
            &[0xFF, 0xDE, 0, 2],
            &[0xFF, 0x01],
        ] {
            let bad = splice(&bytes, sof.ff..sof.ff, inserted);
            assert_eq!(
                validate(&bad),
                Err(Rejection::Corrupt),
                "{name} + {inserted:02x?}"
            );
        }
        // EOI missing; EOI right after SOF (no scan).
        assert_eq!(
            validate(&bytes[..bytes.len() - 2]),
            Err(Rejection::Corrupt),
            "{name} no EOI"
        );
        let bad = splice(&bytes, sof.body.end..sof.body.end, &[0xFF, 0xD9]);
        assert_eq!(validate(&bad), Err(Rejection::Corrupt), "{name} early EOI");
        // Extras libjpeg passes over before the frame: fill bytes, an RST, a DNL, junk and
        // FF 00 before a marker, a COM segment, an APP15 with a bogus length.
        let extra = [
            0xFF, 0xFF, 0xD0, 0xFF, 0xDC, 0, 4, 0, 8, b'j', 0xFF, 0x00, 0xFF, 0xFE, 0, 5, b'h',
            b'i', b'!', 0xFF, 0xEF, 0, 1,
        ];
        let ok = splice(&bytes, sof.ff..sof.ff, &extra);
        assert!(validate(&ok).is_ok(), "{name} with extras");
    }
}
