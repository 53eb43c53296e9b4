//! Streaming structural PNG validation (signature already consumed by the caller).
//!
//! Checked: IHDR first and well-formed; chunk lengths <= 2^31-1; chunk type bytes are
//! ASCII letters; every chunk CRC (computed incrementally over type + data, never
//! buffering the data); a palette image's PLTE before its IDAT; image data: consecutive IDAT
//! chunks holding at least a minimal zlib stream with a valid header; no unknown critical
//! chunk; IEND. What libpng only warns about is tolerated (a PLTE in an image without a
//! palette, any ancillary chunk's content), and bytes after IEND are not this validator's
//! business. The zlib stream is not inflated.

use super::crc32::Crc32;
use super::format::{ImageFormat, ImageInfo, Rejection};

/// The 8-byte PNG file signature.
pub const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

const IHDR: [u8; 4] = *b"IHDR";
const PLTE: [u8; 4] = *b"PLTE";
const IDAT: [u8; 4] = *b"IDAT";
const IEND: [u8; 4] = *b"IEND";

const MAX_LEN: u32 = 0x7FFF_FFFF;
const IHDR_LEN: u32 = 13;
/// The shortest zlib stream: 2-byte header, an empty fixed block, Adler-32.
const MIN_ZLIB_LEN: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the 8-byte chunk header (length + type) into `buf`.
    Header,
    /// Streaming `remaining` bytes of chunk data through the CRC.
    Data,
    /// Reading the 4-byte CRC into `buf`.
    Crc,
    /// IEND fully read: what follows is stored, not judged.
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IdatRun {
    NotYet,
    InProgress,
    Finished,
}

/// Constant-size PNG chunk-stream state machine.
#[derive(Clone)]
pub(crate) struct PngParser {
    phase: Phase,
    /// Small scratch buffer for the chunk header (8) and CRC (4).
    buf: [u8; 8],
    buf_len: usize,
    chunk_type: [u8; 4],
    remaining: u32,
    crc: Crc32,
    /// IHDR data (the only chunk body that is kept, 13 bytes).
    ihdr: [u8; 13],
    /// Set once IHDR has been read, its CRC checked and its fields validated.
    info: Option<ImageInfo>,
    colour_type: u8,
    seen_ihdr: bool,
    seen_plte: bool,
    idat: IdatRun,
    /// Image data bytes so far (saturating) and the zlib header they start with.
    idat_len: u32,
    zlib_header: [u8; 2],
}

/// Copies as many bytes as still fit from `input` into `buf[*len..]`, advancing both.
/// Returns true once `buf` is full.
fn fill(buf: &mut [u8], len: &mut usize, input: &mut &[u8]) -> bool {
    let dest = buf.get_mut(*len..).unwrap_or(&mut []);
    let n = dest.len().min(input.len());
    let (head, tail) = input.split_at(n);
    if let Some(d) = dest.get_mut(..n) {
        d.copy_from_slice(head);
    }
    *input = tail;
    *len = len.saturating_add(n);
    *len >= buf.len()
}

fn be32(b: [u8; 4]) -> u32 {
    u32::from_be_bytes(b)
}

impl PngParser {
    /// A parser positioned right after the 8-byte signature.
    pub(crate) fn new() -> Self {
        PngParser {
            phase: Phase::Header,
            buf: [0; 8],
            buf_len: 0,
            chunk_type: [0; 4],
            remaining: 0,
            crc: Crc32::default(),
            ihdr: [0; 13],
            info: None,
            colour_type: 0,
            seen_ihdr: false,
            seen_plte: false,
            idat: IdatRun::NotYet,
            idat_len: 0,
            zlib_header: [0; 2],
        }
    }

    pub(crate) fn info(&self) -> Option<ImageInfo> {
        self.info
    }

    pub(crate) fn finish(self) -> Result<ImageInfo, Rejection> {
        match (self.phase, self.info) {
            (Phase::End, Some(info)) => Ok(info),
            _ => Err(Rejection::Corrupt),
        }
    }

    pub(crate) fn push(&mut self, mut input: &[u8]) -> Result<(), Rejection> {
        while !input.is_empty() {
            match self.phase {
                Phase::Header => {
                    let mut len = self.buf_len;
                    let full = fill(&mut self.buf, &mut len, &mut input);
                    self.buf_len = len;
                    if full {
                        self.buf_len = 0;
                        self.start_chunk()?;
                    }
                }
                Phase::Data => {
                    let n = input
                        .len()
                        .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                    let (data, rest) = input.split_at(n);
                    self.crc.update(data);
                    if self.chunk_type == IHDR {
                        // Length was checked to be 13, so offset + n <= 13.
                        let offset = (IHDR_LEN.saturating_sub(self.remaining)) as usize;
                        if let Some(dest) = self.ihdr.get_mut(offset..offset.saturating_add(n)) {
                            dest.copy_from_slice(data);
                        }
                    } else if self.chunk_type == IDAT {
                        self.image_data(data);
                    }
                    // n <= remaining, so this cannot underflow; saturate anyway.
                    self.remaining = self
                        .remaining
                        .saturating_sub(u32::try_from(n).unwrap_or(u32::MAX));
                    input = rest;
                    if self.remaining == 0 {
                        self.phase = Phase::Crc;
                    }
                }
                Phase::Crc => {
                    let mut len = self.buf_len;
                    let full = fill(&mut self.buf[..4], &mut len, &mut input);
                    self.buf_len = len;
                    if full {
                        self.buf_len = 0;
                        self.end_chunk()?;
                    }
                }
                Phase::End => return Ok(()),
            }
        }
        Ok(())
    }

    /// Keeps the first two bytes of the zlib stream and counts the rest.
    fn image_data(&mut self, data: &[u8]) {
        for (slot, &byte) in self
            .zlib_header
            .iter_mut()
            .skip(self.idat_len as usize)
            .zip(data)
        {
            *slot = byte;
        }
        let n = u32::try_from(data.len()).unwrap_or(u32::MAX);
        self.idat_len = self.idat_len.saturating_add(n);
    }

    /// A zlib stream (RFC 1950): deflate, a window of at most 32 KiB, check bits, no preset
    /// dictionary, and long enough to hold anything.
    fn has_image_data(&self) -> bool {
        let [cmf, flg] = self.zlib_header;
        self.idat_len >= MIN_ZLIB_LEN
            && cmf & 0x0F == 8
            && cmf >> 4 <= 7
            && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
            && flg & 0x20 == 0
    }

    /// The 8-byte chunk header is in `buf`: validate it against the chunk ordering rules.
    fn start_chunk(&mut self) -> Result<(), Rejection> {
        let [l0, l1, l2, l3, t0, t1, t2, t3] = self.buf;
        let length = be32([l0, l1, l2, l3]);
        let ty = [t0, t1, t2, t3];
        if length > MAX_LEN || !ty.iter().all(u8::is_ascii_alphabetic) {
            return Err(Rejection::Corrupt);
        }

        if !self.seen_ihdr {
            if ty != IHDR || length != IHDR_LEN {
                return Err(Rejection::Corrupt);
            }
        } else {
            if ty != IDAT && self.idat == IdatRun::InProgress {
                self.idat = IdatRun::Finished;
            }
            match ty {
                IHDR => return Err(Rejection::Corrupt),
                PLTE => {
                    // Only a palette image needs it; libpng ignores it elsewhere, but never
                    // takes two.
                    let needed = self.colour_type == 3;
                    if self.seen_plte
                        || (needed
                            && (self.idat != IdatRun::NotYet
                                || length == 0
                                || length > 768
                                || !length.is_multiple_of(3)))
                    {
                        return Err(Rejection::Corrupt);
                    }
                    self.seen_plte = true;
                }
                IDAT => {
                    if self.idat == IdatRun::Finished || (self.colour_type == 3 && !self.seen_plte)
                    {
                        return Err(Rejection::Corrupt);
                    }
                    self.idat = IdatRun::InProgress;
                }
                IEND => {
                    if length != 0 || !self.has_image_data() {
                        return Err(Rejection::Corrupt);
                    }
                }
                _ => {
                    // Bit 5 of the first type byte clear (upper case) = critical chunk.
                    // An unknown critical chunk means the image cannot be displayed.
                    if t0.is_ascii_uppercase() {
                        return Err(Rejection::Corrupt);
                    }
                }
            }
        }

        self.chunk_type = ty;
        self.remaining = length;
        self.crc = Crc32::default();
        self.crc.update(&ty);
        self.phase = if length == 0 { Phase::Crc } else { Phase::Data };
        Ok(())
    }

    /// The chunk's 4-byte CRC is in `buf[..4]`.
    fn end_chunk(&mut self) -> Result<(), Rejection> {
        let [c0, c1, c2, c3, ..] = self.buf;
        let expected = be32([c0, c1, c2, c3]);
        let actual = self.crc.finalize();
        if expected != actual {
            return Err(Rejection::Corrupt);
        }
        match self.chunk_type {
            IHDR => {
                self.parse_ihdr()?;
                self.seen_ihdr = true;
                self.phase = Phase::Header;
            }
            IEND => self.phase = Phase::End,
            _ => self.phase = Phase::Header,
        }
        Ok(())
    }

    fn parse_ihdr(&mut self) -> Result<(), Rejection> {
        let [w0, w1, w2, w3, h0, h1, h2, h3, depth, colour, compression, filter, interlace] =
            self.ihdr;
        let width = be32([w0, w1, w2, w3]);
        let height = be32([h0, h1, h2, h3]);
        let depth_ok = match colour {
            0 => matches!(depth, 1 | 2 | 4 | 8 | 16),
            3 => matches!(depth, 1 | 2 | 4 | 8),
            2 | 4 | 6 => matches!(depth, 8 | 16),
            _ => false,
        };
        if width == 0
            || width > MAX_LEN
            || height == 0
            || height > MAX_LEN
            || !depth_ok
            || compression != 0
            || filter != 0
            || interlace > 1
        {
            return Err(Rejection::Corrupt);
        }
        self.colour_type = colour;
        self.info = Some(ImageInfo {
            format: ImageFormat::Png,
            width,
            height,
        });
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod unit_tests {
    //! Hand-built PNG streams exercising each structural rule.

    use super::*;
    use crate::image::ImageValidator;

    pub(crate) fn chunk(ty: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(data.len() + 12);
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(ty);
        out.extend_from_slice(data);
        let mut h = crc32fast::Hasher::new();
        h.update(ty);
        h.update(data);
        out.extend_from_slice(&h.finalize().to_be_bytes());
        out
    }

    pub(crate) fn ihdr(w: u32, h: u32, depth: u8, colour: u8, interlace: u8) -> Vec<u8> {
        let mut d = Vec::new();
        d.extend_from_slice(&w.to_be_bytes());
        d.extend_from_slice(&h.to_be_bytes());
        d.extend_from_slice(&[depth, colour, 0, 0, interlace]);
        chunk(b"IHDR", &d)
    }

    /// Signature followed by the given chunks.
    pub(crate) fn png(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        for c in chunks {
            out.extend_from_slice(c);
        }
        out
    }

    /// zlib stream of a 1x1 8-bit grey image (filter byte 0, pixel 0), stored block.
    const IDAT_1X1: [u8; 13] = [
        0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01,
    ];

    fn idat() -> Vec<u8> {
        chunk(b"IDAT", &IDAT_1X1)
    }
    fn iend() -> Vec<u8> {
        chunk(b"IEND", &[])
    }

    fn check(bytes: &[u8]) -> Result<ImageInfo, Rejection> {
        let mut v = ImageValidator::new();
        let whole = v.push(bytes).and_then(|()| v.clone().finish());
        // Same answer byte by byte.
        let mut b = ImageValidator::new();
        let mut r = Ok(());
        for byte in bytes {
            r = b.push(core::slice::from_ref(byte));
            if r.is_err() {
                break;
            }
        }
        let bytewise = r.and_then(|()| b.finish());
        assert_eq!(whole, bytewise);
        whole
    }

    fn minimal() -> Vec<u8> {
        png(&[ihdr(1, 1, 8, 0, 0), idat(), iend()])
    }

    #[test]
    fn minimal_png_is_accepted() {
        let info = check(&minimal()).unwrap();
        assert_eq!(
            info,
            ImageInfo {
                format: ImageFormat::Png,
                width: 1,
                height: 1
            }
        );
    }

    #[test]
    fn info_available_right_after_ihdr() {
        let mut v = ImageValidator::new();
        let bytes = png(&[ihdr(300, 200, 8, 2, 0)]);
        v.push(&bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(v.info(), None, "IHDR CRC not read yet");
        v.push(&bytes[bytes.len() - 1..]).unwrap();
        assert_eq!(
            v.info(),
            Some(ImageInfo {
                format: ImageFormat::Png,
                width: 300,
                height: 200
            })
        );
        assert_eq!(v.finish(), Err(Rejection::Corrupt));
    }

    #[test]
    fn max_dimensions() {
        let max = MAX_LEN;
        assert!(check(&png(&[ihdr(max, max, 8, 0, 0), idat(), iend()])).is_ok());
        for (w, h) in [
            (0, 1),
            (1, 0),
            (0, 0),
            (max + 1, 1),
            (1, max + 1),
            (u32::MAX, u32::MAX),
        ] {
            assert_eq!(
                check(&png(&[ihdr(w, h, 8, 0, 0), idat(), iend()])),
                Err(Rejection::Corrupt),
                "{w}x{h}"
            );
        }
    }

    #[test]
    fn bit_depth_colour_type_combinations() {
        let valid: &[(u8, &[u8])] = &[
            (0, &[1, 2, 4, 8, 16]),
            (2, &[8, 16]),
            (3, &[1, 2, 4, 8]),
            (4, &[8, 16]),
            (6, &[8, 16]),
        ];
        for colour in 0..=255u8 {
            for depth in 0..=255u8 {
                let ok = valid
                    .iter()
                    .any(|(c, ds)| *c == colour && ds.contains(&depth));
                let mut chunks = vec![ihdr(1, 1, depth, colour, 0)];
                if colour == 3 {
                    chunks.push(chunk(b"PLTE", &[0, 0, 0]));
                }
                chunks.push(idat());
                chunks.push(iend());
                assert_eq!(
                    check(&png(&chunks)).is_ok(),
                    ok,
                    "colour {colour} depth {depth}"
                );
            }
        }
    }

    #[test]
    fn ihdr_method_fields() {
        for (compression, filter, interlace, ok) in [
            (0, 0, 0, true),
            (0, 0, 1, true),
            (0, 0, 2, false),
            (1, 0, 0, false),
            (0, 1, 0, false),
        ] {
            let mut d = Vec::new();
            d.extend_from_slice(&1u32.to_be_bytes());
            d.extend_from_slice(&1u32.to_be_bytes());
            d.extend_from_slice(&[8, 0, compression, filter, interlace]);
            let bytes = png(&[chunk(b"IHDR", &d), idat(), iend()]);
            assert_eq!(check(&bytes).is_ok(), ok);
        }
    }

    #[test]
    fn ihdr_must_be_first_and_13_bytes() {
        let bad = [
            png(&[idat(), ihdr(1, 1, 8, 0, 0), iend()]),
            png(&[chunk(b"tEXt", b"a\0b"), ihdr(1, 1, 8, 0, 0), idat(), iend()]),
            png(&[chunk(b"IHDR", &[0; 12]), idat(), iend()]),
            png(&[
                chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0, 0]),
                idat(),
                iend(),
            ]),
            png(&[ihdr(1, 1, 8, 0, 0), ihdr(1, 1, 8, 0, 0), idat(), iend()]),
            png(&[iend()]),
        ];
        for (i, bytes) in bad.iter().enumerate() {
            assert_eq!(check(bytes), Err(Rejection::Corrupt), "case {i}");
        }
    }

    #[test]
    fn missing_idat() {
        assert_eq!(
            check(&png(&[ihdr(1, 1, 8, 0, 0), iend()])),
            Err(Rejection::Corrupt)
        );
    }

    #[test]
    fn empty_idat_chunks_are_fine() {
        let bytes = png(&[
            ihdr(1, 1, 8, 0, 0),
            chunk(b"IDAT", &[]),
            idat(),
            chunk(b"IDAT", &[]),
            iend(),
        ]);
        assert!(check(&bytes).is_ok());
    }

    #[test]
    fn idat_must_be_consecutive() {
        let split = png(&[
            ihdr(1, 1, 8, 0, 0),
            chunk(b"IDAT", &IDAT_1X1[..5]),
            chunk(b"IDAT", &IDAT_1X1[5..]),
            iend(),
        ]);
        assert!(check(&split).is_ok());
        let interrupted = png(&[
            ihdr(1, 1, 8, 0, 0),
            chunk(b"IDAT", &IDAT_1X1[..5]),
            chunk(b"tEXt", b"k\0v"),
            chunk(b"IDAT", &IDAT_1X1[5..]),
            iend(),
        ]);
        assert_eq!(check(&interrupted), Err(Rejection::Corrupt));
        let ancillary_after = png(&[ihdr(1, 1, 8, 0, 0), idat(), chunk(b"tEXt", b"k\0v"), iend()]);
        assert!(check(&ancillary_after).is_ok());
    }

    #[test]
    fn palette_rules() {
        let plte = chunk(b"PLTE", &[1, 2, 3, 4, 5, 6]);
        // Colour type 3 requires PLTE before IDAT.
        assert!(check(&png(&[ihdr(1, 1, 8, 3, 0), plte.clone(), idat(), iend()])).is_ok());
        assert_eq!(
            check(&png(&[ihdr(1, 1, 8, 3, 0), idat(), iend()])),
            Err(Rejection::Corrupt)
        );
        assert_eq!(
            check(&png(&[ihdr(1, 1, 8, 3, 0), idat(), plte.clone(), iend()])),
            Err(Rejection::Corrupt)
        );
        // Optional (suggested palette) for 2 and 6; libpng ignores a late one (a benign
        // error), and one in a grey image.
        for colour in [0, 2, 4, 6] {
            assert!(check(&png(&[
                ihdr(1, 1, 8, colour, 0),
                plte.clone(),
                idat(),
                iend()
            ]))
            .is_ok());
            assert!(check(&png(&[ihdr(1, 1, 8, colour, 0), idat(), iend()])).is_ok());
            assert!(check(&png(&[
                ihdr(1, 1, 8, colour, 0),
                idat(),
                plte.clone(),
                iend()
            ]))
            .is_ok());
        }
        // Only one, with 1..=256 RGB entries.
        assert_eq!(
            check(&png(&[
                ihdr(1, 1, 8, 3, 0),
                plte.clone(),
                plte.clone(),
                idat(),
                iend()
            ])),
            Err(Rejection::Corrupt)
        );
        for len in [0usize, 2, 4, 769, 771] {
            let bytes = png(&[
                ihdr(1, 1, 8, 3, 0),
                chunk(b"PLTE", &vec![0; len]),
                idat(),
                iend(),
            ]);
            assert_eq!(check(&bytes), Err(Rejection::Corrupt), "PLTE length {len}");
        }
        let bytes = png(&[
            ihdr(1, 1, 8, 3, 0),
            chunk(b"PLTE", &[0; 768]),
            idat(),
            iend(),
        ]);
        assert!(check(&bytes).is_ok());
    }

    #[test]
    fn iend_rules() {
        let good = minimal();
        assert!(check(&good).is_ok());
        // Non-empty IEND.
        assert_eq!(
            check(&png(&[ihdr(1, 1, 8, 0, 0), idat(), chunk(b"IEND", &[0])])),
            Err(Rejection::Corrupt)
        );
        // Missing IEND.
        assert_eq!(
            check(&png(&[ihdr(1, 1, 8, 0, 0), idat()])),
            Err(Rejection::Corrupt)
        );
        // Whatever follows IEND is stored, not judged: bytes, chunks, a second image.
        for trailer in [
            &b"\0"[..],
            b"\n",
            &chunk(b"tEXt", b"k\0v"),
            &chunk(b"IEND", &[]),
            &minimal(),
        ] {
            let bytes = [&good[..], trailer].concat();
            assert_eq!(check(&bytes), check(&good));
        }
    }

    #[test]
    fn ancillary_content_is_not_judged() {
        // A zero-length or oversized tRNS, odd text: libpng warns at most.
        for trns in [&[][..], &[0; 300]] {
            let bytes = png(&[ihdr(1, 1, 8, 3, 0), chunk(b"PLTE", &[0, 0, 0]), chunk(b"tRNS", trns), idat(), iend()]);
            assert!(check(&bytes).is_ok(), "tRNS of {} bytes", trns.len());
        }
        assert!(check(&png(&[ihdr(1, 1, 8, 0, 0), chunk(b"tEXt", b"no separator"), idat(), iend()])).is_ok());
    }

    #[test]
    fn image_data_must_hold_a_zlib_stream() {
        let with = |data: &[u8]| check(&png(&[ihdr(1, 1, 8, 0, 0), chunk(b"IDAT", data), iend()]));
        assert!(with(&IDAT_1X1).is_ok());
        let mut bad_method = IDAT_1X1;
        bad_method[0] = 0x77;
        let mut bad_check = IDAT_1X1;
        bad_check[1] = 0x02;
        let mut preset_dictionary = IDAT_1X1;
        preset_dictionary[1] = 0x20; // FDICT set, check bits still valid (0x7820 % 31 == 0)
        for (what, data) in [
            ("empty", &[][..]),
            ("shorter than any zlib stream", &IDAT_1X1[..7]),
            ("not deflate", &bad_method),
            ("check bits", &bad_check),
            ("preset dictionary", &preset_dictionary),
        ] {
            assert_eq!(with(data), Err(Rejection::Corrupt), "{what}");
        }
        // The header may be split across IDAT chunks.
        let split = png(&[
            ihdr(1, 1, 8, 0, 0),
            chunk(b"IDAT", &IDAT_1X1[..1]),
            chunk(b"IDAT", &IDAT_1X1[1..]),
            iend(),
        ]);
        assert!(check(&split).is_ok());
    }

    #[test]
    fn chunk_header_rules() {
        // Unknown ancillary chunk: fine; unknown critical chunk: rejected.
        assert!(check(&png(&[
            ihdr(1, 1, 8, 0, 0),
            chunk(b"zzZz", b"x"),
            idat(),
            iend()
        ]))
        .is_ok());
        assert_eq!(
            check(&png(&[
                ihdr(1, 1, 8, 0, 0),
                chunk(b"ZZZZ", b"x"),
                idat(),
                iend()
            ])),
            Err(Rejection::Corrupt)
        );
        // Non-letter type bytes.
        for ty in [b"tEX1", b"t Xt", b"tE\xc3t", b"\0\0\0\0"] {
            let bytes = png(&[ihdr(1, 1, 8, 0, 0), chunk(ty, b""), idat(), iend()]);
            assert_eq!(check(&bytes), Err(Rejection::Corrupt), "{ty:?}");
        }
        // Length > 2^31-1 is rejected as soon as the header is read.
        let mut bytes = png(&[ihdr(1, 1, 8, 0, 0)]);
        bytes.extend_from_slice(&0x8000_0000u32.to_be_bytes());
        bytes.extend_from_slice(b"tEXt");
        let mut v = ImageValidator::new();
        assert_eq!(v.push(&bytes), Err(Rejection::Corrupt));
    }

    #[test]
    fn bad_crc_anywhere_is_rejected() {
        let good = png(&[
            ihdr(2, 2, 8, 2, 0),
            chunk(b"tEXt", b"key\0value"),
            idat(),
            iend(),
        ]);
        assert!(check(&good).is_ok());
        for i in PNG_SIGNATURE.len()..good.len() {
            for mask in [0x01u8, 0x80, 0xFF] {
                let mut bad = good.clone();
                bad[i] ^= mask;
                assert!(check(&bad).is_err(), "offset {i} mask {mask:#x}");
            }
        }
    }

    #[test]
    fn rejection_is_immediate() {
        // A broken IHDR CRC is reported by the push that completes it.
        let mut bytes = png(&[ihdr(1, 1, 8, 0, 0)]);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let mut v = ImageValidator::new();
        assert_eq!(v.push(&bytes), Err(Rejection::Corrupt));
        assert_eq!(v.format(), Some(ImageFormat::Png));
    }
}
