//! Streaming structural JPEG validation (SOI and the first `FF` already consumed).
//!
//! The yardstick is what libjpeg-turbo (Chromium's decoder, and Pillow's) decodes in full, so
//! the marker stream is read the way its `jdmarker.c` reads it: bytes before a marker are
//! skipped (fill bytes, `FF 00`, junk), APPn/COM/DNL bodies are skipped by their length even
//! when it is malformed, and everything after the EOI that ends the first image (MPO frames,
//! Ultra HDR gain maps, camera trailers) is left alone. What libjpeg refuses is refused: a frame
//! other than 8-bit baseline/extended/progressive (Huffman or arithmetic) with 1, 3 or 4
//! components, a table segment that does not parse, a Huffman table a scan uses that cannot be
//! built, a component whose quantization table is missing, bad progression parameters, a
//! second scan after a sequential scan of every component, a second SOI or frame, unknown
//! markers, a scan before the frame and EOI before any scan.
//! Nothing is buffered but the frame and scan headers; entropy-coded data is scanned for
//! `0xFF` with `memchr` and not decoded.

use super::format::{ImageFormat, ImageInfo, Rejection};

/// Largest frame header body: P, Y(2), X(2), Nf, 4 × (C, H|V, Tq).
const SOF_BODY_MAX: usize = 6 + 3 * 4;
/// Largest scan header body: Ns, 4 × (Cs, Td|Ta), Ss, Se, Ah|Al.
const SOS_BODY_MAX: usize = 4 + 2 * 4;
const HEADER_MAX: usize = if SOF_BODY_MAX > SOS_BODY_MAX {
    SOF_BODY_MAX
} else {
    SOS_BODY_MAX
};
/// libjpeg's JPEG_MAX_DIMENSION.
const MAX_DIMENSION: u16 = 65500;
/// libjpeg's D_MAX_BLOCKS_IN_MCU: blocks in one MCU of an interleaved scan.
const MAX_BLOCKS_IN_MCU: u32 = 10;

const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
const DRI: u8 = 0xDD;
const DQT: u8 = 0xDB;
const DHT: u8 = 0xC4;
const DAC: u8 = 0xCC;
const TEM: u8 = 0x01;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between segments: skip anything up to the next `FF` (libjpeg's `next_marker`).
    Seek,
    /// After an `FF` outside entropy data: `FF` = fill byte, `00` = not a marker, else a marker.
    MarkerCode,
    /// Reading the 2-byte segment length of `marker` into `buf`.
    Length { marker: u8 },
    /// Skipping the body of an APPn/COM/DNL segment.
    Skip { remaining: u16 },
    /// Parsing the body of a DQT/DHT/DAC segment byte by byte.
    Table { remaining: u16, table: Table },
    /// Buffering the body of a SOF, SOS or DRI segment of `len` bytes.
    Header { marker: u8, len: usize },
    /// Inside entropy-coded data.
    Entropy,
    /// Inside entropy-coded data, just after an `FF`.
    EntropyFF,
    /// The first image's EOI has been read; the rest is not this validator's business.
    End,
}

/// Where a table segment's parse stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    /// DQT: `left` value bytes of the current table remain (0: a Pq|Tq byte comes next).
    Quant { left: u8 },
    /// DHT: the Tc|Th byte comes next.
    HuffmanIndex,
    /// DHT: reading the 16 code-length counts of table `slot`.
    HuffmanCounts {
        slot: u8,
        lengths_read: u8,
        symbols: u16,
        codes: u32,
        buildable: bool,
    },
    /// DHT: `left` symbols of table `slot` remain.
    HuffmanSymbols {
        slot: u8,
        left: u16,
        buildable: bool,
    },
    /// DAC: a table index byte comes next, or its value for `Some(index)`.
    Conditioning { index: Option<u8> },
}

impl Table {
    /// A segment may only end between two tables.
    fn at_boundary(self) -> bool {
        matches!(
            self,
            Table::Quant { left: 0 } | Table::HuffmanIndex | Table::Conditioning { index: None }
        )
    }
}

/// The frame header (SOFn) fields the scans are checked against.
#[derive(Debug, Clone, Copy, Default)]
struct Frame {
    marker: u8,
    components: usize,
    ids: [u8; 4],
    /// H|V sampling factors.
    sampling: [u8; 4],
    quant_tables: [u8; 4],
}

impl Frame {
    fn progressive(&self) -> bool {
        matches!(self.marker, 0xC2 | 0xCA)
    }
    fn huffman(&self) -> bool {
        self.marker < 0xC8
    }
}

/// Constant-size JPEG marker-stream state machine.
#[derive(Clone)]
pub(crate) struct JpegParser {
    phase: Phase,
    buf: [u8; HEADER_MAX],
    buf_len: usize,
    /// Set once a valid frame header has been read.
    info: Option<ImageInfo>,
    frame: Frame,
    /// Quantization tables 0..=3 defined so far (bit per table).
    quant_defined: u8,
    /// Frame components whose quantization table libjpeg has latched (their first scan).
    latched: u8,
    /// Huffman tables defined, and those a scan could not build (bits 0..=3: DC 0..=3,
    /// bits 4..=7: AC 0..=3).
    defined_huffman: u8,
    unbuildable_huffman: u8,
    scans: u32,
    /// A sequential first scan held every component: libjpeg expects no other scan.
    single_scan: bool,
    /// A side over libjpeg's maximum: refused at the end, so that the worker's own size
    /// limits, checked as soon as the dimensions are known, give the more useful answer.
    oversized: bool,
}

/// Frame types libjpeg-turbo decodes: baseline, extended and progressive, Huffman or arithmetic.
/// Lossless and hierarchical frames are refused by the browsers.
fn is_decodable_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC2 | 0xC9 | 0xCA)
}

fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// Segments whose body libjpeg skips by length without looking: APPn, COM, DNL.
fn is_skipped_segment(marker: u8) -> bool {
    matches!(marker, 0xE0..=0xEF | 0xFE | 0xDC)
}

impl JpegParser {
    /// A parser positioned after `FF D8 FF`, i.e. expecting the first marker code.
    pub(crate) fn after_soi_and_ff() -> Self {
        JpegParser {
            phase: Phase::MarkerCode,
            buf: [0; HEADER_MAX],
            buf_len: 0,
            info: None,
            frame: Frame::default(),
            quant_defined: 0,
            latched: 0,
            defined_huffman: 0,
            unbuildable_huffman: 0,
            scans: 0,
            single_scan: false,
            oversized: false,
        }
    }

    pub(crate) fn info(&self) -> Option<ImageInfo> {
        self.info
    }

    pub(crate) fn finish(self) -> Result<ImageInfo, Rejection> {
        match (self.phase, self.info) {
            (Phase::End, Some(info)) if !self.oversized => Ok(info),
            _ => Err(Rejection::Corrupt),
        }
    }

    /// Move bytes from `input` into the header buffer until it holds `want`; true once it does.
    fn fill(&mut self, input: &mut &[u8], want: usize) -> bool {
        let n = input.len().min(want.saturating_sub(self.buf_len));
        let (head, tail) = input.split_at(n);
        if let Some(dest) = self
            .buf
            .get_mut(self.buf_len..self.buf_len.saturating_add(n))
        {
            dest.copy_from_slice(head);
        }
        self.buf_len = self.buf_len.saturating_add(n);
        *input = tail;
        self.buf_len >= want
    }

    pub(crate) fn push(&mut self, mut input: &[u8]) -> Result<(), Rejection> {
        while let Some((&first, after_first)) = input.split_first() {
            match self.phase {
                Phase::End => return Ok(()),
                Phase::Entropy | Phase::Seek => match memchr::memchr(0xFF, input) {
                    Some(i) => {
                        input = input.get(i.saturating_add(1)..).unwrap_or(&[]);
                        self.phase = if self.phase == Phase::Entropy {
                            Phase::EntropyFF
                        } else {
                            Phase::MarkerCode
                        };
                    }
                    None => input = &[],
                },
                Phase::EntropyFF => {
                    input = after_first;
                    match first {
                        // Byte stuffing, restart marker: still in the scan.
                        0x00 | 0xD0..=0xD7 => self.phase = Phase::Entropy,
                        // Fill byte before a marker.
                        0xFF => {}
                        // Any other marker ends the scan.
                        marker => self.marker(marker)?,
                    }
                }
                Phase::MarkerCode => {
                    input = after_first;
                    match first {
                        0xFF => {}
                        // `FF 00` between segments is skipped like any other junk.
                        0x00 => self.phase = Phase::Seek,
                        marker => self.marker(marker)?,
                    }
                }
                Phase::Skip { remaining } => {
                    let n = input.len().min(usize::from(remaining));
                    input = input.get(n..).unwrap_or(&[]);
                    let remaining = remaining.saturating_sub(u16::try_from(n).unwrap_or(u16::MAX));
                    self.phase = if remaining == 0 {
                        Phase::Seek
                    } else {
                        Phase::Skip { remaining }
                    };
                }
                Phase::Table { remaining, table } => {
                    input = after_first;
                    let table = self.table_byte(table, first)?;
                    let remaining = remaining.saturating_sub(1);
                    self.phase = if remaining > 0 {
                        Phase::Table { remaining, table }
                    } else if table.at_boundary() {
                        Phase::Seek
                    } else {
                        return Err(Rejection::Corrupt);
                    };
                }
                Phase::Length { marker } => {
                    if self.fill(&mut input, 2) {
                        self.buf_len = 0;
                        let [hi, lo, ..] = self.buf;
                        self.segment_length(marker, u16::from_be_bytes([hi, lo]))?;
                    }
                }
                Phase::Header { marker, len } => {
                    if self.fill(&mut input, len) {
                        self.buf_len = 0;
                        self.phase = match marker {
                            SOS => {
                                self.parse_sos(len)?;
                                Phase::Entropy
                            }
                            // DRI's 2-byte interval needs no check.
                            DRI => Phase::Seek,
                            _ => {
                                self.parse_sof(marker, len)?;
                                Phase::Seek
                            }
                        };
                    }
                }
            }
        }
        Ok(())
    }

    /// A marker code (the byte after `FF`, neither `FF` nor `00`) outside entropy data.
    fn marker(&mut self, marker: u8) -> Result<(), Rejection> {
        self.phase = match marker {
            EOI if self.scans > 0 => Phase::End,
            // Parameterless markers libjpeg passes over. TEM before the first scan makes
            // Pillow's header parser give up, so only after it.
            0xD0..=0xD7 => Phase::Seek,
            TEM if self.scans > 0 => Phase::Seek,
            SOS if self.info.is_some() => Phase::Length { marker },
            m if is_decodable_sof(m) && self.info.is_none() => Phase::Length { marker },
            DHT | DQT | DAC | DRI => Phase::Length { marker },
            m if is_skipped_segment(m) => Phase::Length { marker },
            // SOI again, EOI before any scan, SOS before the frame, a second frame, lossless or
            // hierarchical frames, DHP, EXP, JPG, JPGn, reserved codes.
            _ => return Err(Rejection::Corrupt),
        };
        Ok(())
    }

    /// The 2-byte length of the segment started by `marker` (includes the length bytes).
    fn segment_length(&mut self, marker: u8, length: u16) -> Result<(), Rejection> {
        // libjpeg skips APPn/COM/DNL bodies by `length - 2`, a bogus length skipping nothing.
        if is_skipped_segment(marker) {
            self.phase = match length.saturating_sub(2) {
                0 => Phase::Seek,
                remaining => Phase::Skip { remaining },
            };
            return Ok(());
        }
        let body = length.checked_sub(2).ok_or(Rejection::Corrupt)?;
        let len = usize::from(body);
        self.phase = match marker {
            // Ls = 6 + 2·Ns with Ns in 1..=4 (checked again once Ns is read).
            SOS if (6..=SOS_BODY_MAX).contains(&len) => Phase::Header { marker, len },
            // Lf = 8 + 3·Nf with Nf in 1..=4.
            m if is_sof(m) && (9..=SOF_BODY_MAX).contains(&len) => Phase::Header { marker, len },
            DRI if len == 2 => Phase::Header { marker, len },
            DQT | DHT | DAC if body == 0 => Phase::Seek,
            DQT => Phase::Table {
                remaining: body,
                table: Table::Quant { left: 0 },
            },
            DHT => Phase::Table {
                remaining: body,
                table: Table::HuffmanIndex,
            },
            DAC => Phase::Table {
                remaining: body,
                table: Table::Conditioning { index: None },
            },
            _ => return Err(Rejection::Corrupt),
        };
        Ok(())
    }

    /// One byte of a DQT/DHT/DAC body, checked as libjpeg's `get_dqt`/`get_dht`/`get_dac`
    /// (and, for Huffman tables, `jpeg_make_d_derived_tbl` once a scan uses them).
    fn table_byte(&mut self, table: Table, byte: u8) -> Result<Table, Rejection> {
        Ok(match table {
            Table::Quant { left: 0 } => {
                let (precision, slot) = (byte >> 4, byte & 0x0F);
                if slot > 3 {
                    return Err(Rejection::Corrupt);
                }
                self.quant_defined |= 1 << slot;
                Table::Quant {
                    left: if precision == 0 { 64 } else { 128 },
                }
            }
            Table::Quant { left } => Table::Quant {
                left: left.saturating_sub(1),
            },
            Table::HuffmanIndex => {
                // Tc|Th: class 0 (DC) or 1 (AC), table 0..=3.
                if !matches!(byte, 0x00..=0x03 | 0x10..=0x13) {
                    return Err(Rejection::Corrupt);
                }
                let slot = (byte & 0x03) | ((byte >> 2) & 0x04);
                Table::HuffmanCounts {
                    slot,
                    lengths_read: 0,
                    symbols: 0,
                    codes: 0,
                    buildable: true,
                }
            }
            Table::HuffmanCounts {
                slot,
                lengths_read,
                symbols,
                codes,
                buildable,
            } => {
                let lengths_read = lengths_read.saturating_add(1);
                let symbols = symbols.saturating_add(u16::from(byte));
                // Canonical codes of this length must fit it, none all ones.
                let codes = codes.saturating_add(u32::from(byte));
                let buildable = buildable && codes < 1 << lengths_read;
                if lengths_read < 16 {
                    Table::HuffmanCounts {
                        slot,
                        lengths_read,
                        symbols,
                        codes: codes << 1,
                        buildable,
                    }
                } else if symbols > 256 {
                    return Err(Rejection::Corrupt);
                } else if symbols == 0 {
                    self.define_huffman(slot, buildable)
                } else {
                    Table::HuffmanSymbols {
                        slot,
                        left: symbols,
                        buildable,
                    }
                }
            }
            Table::HuffmanSymbols {
                slot,
                left,
                buildable,
            } => {
                // A DC table codes a magnitude category, 0..=15.
                let buildable = buildable && (slot >= 4 || byte <= 15);
                match left.saturating_sub(1) {
                    0 => self.define_huffman(slot, buildable),
                    left => Table::HuffmanSymbols {
                        slot,
                        left,
                        buildable,
                    },
                }
            }
            Table::Conditioning { index: None } => {
                // 0..=15 DC tables, 16..=31 AC tables.
                if byte > 31 {
                    return Err(Rejection::Corrupt);
                }
                Table::Conditioning { index: Some(byte) }
            }
            Table::Conditioning { index: Some(index) } => {
                // A DC table's lower bound L may not exceed its upper bound U.
                if index < 16 && byte & 0x0F > byte >> 4 {
                    return Err(Rejection::Corrupt);
                }
                Table::Conditioning { index: None }
            }
        })
    }

    fn define_huffman(&mut self, slot: u8, buildable: bool) -> Table {
        let bit = 1u8 << (slot & 7);
        self.defined_huffman |= bit;
        if buildable {
            self.unbuildable_huffman &= !bit;
        } else {
            self.unbuildable_huffman |= bit;
        }
        Table::HuffmanIndex
    }

    fn parse_sof(&mut self, marker: u8, len: usize) -> Result<(), Rejection> {
        let body = self.buf.get(..len).ok_or(Rejection::Corrupt)?;
        let (&[precision, y0, y1, x0, x1, nf], components) =
            body.split_first_chunk::<6>().ok_or(Rejection::Corrupt)?;
        let height = u16::from_be_bytes([y0, y1]);
        let width = u16::from_be_bytes([x0, x1]);
        let nf = usize::from(nf);
        // 8-bit samples only (12-bit is refused by Chromium and Pillow); grey, YCbCr/RGB or
        // CMYK/YCCK (two components have no colour space to show them in).
        if precision != 8
            || height == 0
            || width == 0
            || !matches!(nf, 1 | 3 | 4)
            || components.len() != nf.saturating_mul(3)
        {
            return Err(Rejection::Corrupt);
        }
        let mut frame = Frame {
            marker,
            components: nf,
            ..Frame::default()
        };
        for (i, component) in components.chunks_exact(3).enumerate() {
            let &[id, sampling, tq] = component else {
                return Err(Rejection::Corrupt);
            };
            let (h, v) = (sampling >> 4, sampling & 0x0F);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
                return Err(Rejection::Corrupt);
            }
            // Component identifiers must be distinct (scans refer to them).
            if frame.ids.get(..i).unwrap_or(&[]).contains(&id) {
                return Err(Rejection::Corrupt);
            }
            *frame.ids.get_mut(i).ok_or(Rejection::Corrupt)? = id;
            *frame.sampling.get_mut(i).ok_or(Rejection::Corrupt)? = sampling;
            *frame.quant_tables.get_mut(i).ok_or(Rejection::Corrupt)? = tq;
        }
        // libjpeg upsamples by whole factors only.
        let sampling = frame.sampling.get(..nf).unwrap_or(&[]);
        let max_h = sampling.iter().map(|s| s >> 4).max().unwrap_or(1);
        let max_v = sampling.iter().map(|s| s & 0x0F).max().unwrap_or(1);
        if sampling
            .iter()
            .any(|s| max_h % (s >> 4).max(1) != 0 || max_v % (s & 0x0F).max(1) != 0)
        {
            return Err(Rejection::Corrupt);
        }
        self.frame = frame;
        self.oversized = width > MAX_DIMENSION || height > MAX_DIMENSION;
        self.info = Some(ImageInfo {
            format: ImageFormat::Jpeg,
            width: u32::from(width),
            height: u32::from(height),
        });
        Ok(())
    }

    fn parse_sos(&mut self, len: usize) -> Result<(), Rejection> {
        let body = self.buf.get(..len).ok_or(Rejection::Corrupt)?;
        let (&ns, rest) = body.split_first().ok_or(Rejection::Corrupt)?;
        let ns = usize::from(ns);
        if !(1..=4).contains(&ns) || len != ns.saturating_mul(2).saturating_add(4) {
            return Err(Rejection::Corrupt);
        }
        let (selectors, tail) = rest
            .split_at_checked(ns.saturating_mul(2))
            .ok_or(Rejection::Corrupt)?;
        let &[ss, se, approximation] = tail else {
            return Err(Rejection::Corrupt);
        };
        let (ah, al) = (approximation >> 4, approximation & 0x0F);
        let frame = self.frame;
        if frame.progressive() {
            // libjpeg's JERR_BAD_PROGRESSION.
            let band_ok = if ss == 0 {
                se == 0
            } else {
                ss <= se && se <= 63 && ns == 1
            };
            if !band_ok || (ah != 0 && al != ah.wrapping_sub(1)) || al > 13 {
                return Err(Rejection::Corrupt);
            }
        }
        // Motion JPEG leaves out the standard tables: libjpeg-turbo's sequential decoder fills
        // undefined tables 0 and 1 with them when it starts (its progressive one does not).
        if self.scans == 0 && frame.huffman() && !frame.progressive() {
            self.defined_huffman |= 0b0011_0011;
        }
        // Which Huffman tables the scan builds (arithmetic scans use none).
        let uses_dc = frame.huffman() && (!frame.progressive() || (ss == 0 && ah == 0));
        let uses_ac = frame.huffman() && (!frame.progressive() || ss != 0);
        let mut seen = 0u8;
        let mut blocks = 0u32;
        for pair in selectors.chunks_exact(2) {
            let &[cs, tables] = pair else {
                return Err(Rejection::Corrupt);
            };
            let index = frame
                .ids
                .get(..frame.components)
                .unwrap_or(&[])
                .iter()
                .position(|&id| id == cs)
                .ok_or(Rejection::Corrupt)?;
            let bit = 1u8 << (index & 7);
            if seen & bit != 0 {
                return Err(Rejection::Corrupt);
            }
            seen |= bit;
            let sampling = frame.sampling.get(index).copied().unwrap_or(0);
            blocks = blocks.saturating_add(u32::from(sampling >> 4) * u32::from(sampling & 0x0F));
            // The component's quantization table is fixed by its first scan.
            if self.latched & bit == 0 {
                let tq = frame.quant_tables.get(index).copied().unwrap_or(0);
                if self.quant_defined & (1 << (tq & 3)) == 0 {
                    return Err(Rejection::Corrupt);
                }
                self.latched |= bit;
            }
            let (td, ta) = (tables >> 4, tables & 0x0F);
            if (uses_dc && !self.huffman_usable(td, false))
                || (uses_ac && !self.huffman_usable(ta, true))
            {
                return Err(Rejection::Corrupt);
            }
        }
        if ns > 1 && blocks > MAX_BLOCKS_IN_MCU {
            return Err(Rejection::Corrupt);
        }
        // libjpeg's JERR_EOI_EXPECTED ("Didn't expect more than one scan").
        if self.single_scan {
            return Err(Rejection::Corrupt);
        }
        self.single_scan = self.scans == 0 && !frame.progressive() && ns == frame.components;
        self.scans = self.scans.saturating_add(1);
        Ok(())
    }

    /// The scan can build DC or AC Huffman table `table` (libjpeg has four of each).
    fn huffman_usable(&self, table: u8, ac: bool) -> bool {
        let bit = 1u8 << ((table & 3) | if ac { 4 } else { 0 });
        table <= 3 && self.defined_huffman & bit != 0 && self.unbuildable_huffman & bit == 0
    }
}

#[cfg(test)]
pub(crate) mod unit_tests {
    //! Hand-built JPEG marker streams exercising each rule.

    use super::*;
    use crate::image::ImageValidator;

    pub(crate) fn seg(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    pub(crate) fn sof(
        marker: u8,
        precision: u8,
        w: u16,
        h: u16,
        comps: &[(u8, u8, u8)],
    ) -> Vec<u8> {
        let mut b = vec![precision];
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.push(comps.len() as u8);
        for &(id, hv, tq) in comps {
            b.extend_from_slice(&[id, hv, tq]);
        }
        seg(marker, &b)
    }

    /// A scan of `ids` with tables 0/0 and the given Ss, Se, Ah|Al.
    fn scan(ids: &[u8], ss: u8, se: u8, approximation: u8) -> Vec<u8> {
        let mut b = vec![ids.len() as u8];
        for &id in ids {
            b.extend_from_slice(&[id, 0x00]);
        }
        b.extend_from_slice(&[ss, se, approximation]);
        seg(SOS, &b)
    }

    pub(crate) fn sos(ids: &[u8]) -> Vec<u8> {
        scan(ids, 0, 63, 0)
    }

    /// Quantization tables 0 and 1 (8-bit).
    fn dqt() -> Vec<u8> {
        let mut body = vec![0x00];
        body.extend_from_slice(&[1; 64]);
        body.push(0x01);
        body.extend_from_slice(&[1; 64]);
        seg(DQT, &body)
    }

    /// One Huffman table: index byte, 16 counts, symbols.
    fn huffman(index: u8, counts: &[(usize, u8)], symbols: &[u8]) -> Vec<u8> {
        let mut body = vec![index];
        let mut lengths = [0u8; 16];
        for &(length, count) in counts {
            lengths[length - 1] = count;
        }
        body.extend_from_slice(&lengths);
        body.extend_from_slice(symbols);
        body
    }

    const END: [u8; 2] = [0xFF, EOI];

    fn ycc() -> Vec<u8> {
        sof(0xC0, 8, 16, 8, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)])
    }

    /// SOI, quantization tables 0 and 1, Huffman tables DC 0 and AC 0, then `parts`.
    fn jpeg(parts: &[&[u8]]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        out.extend_from_slice(&dqt());
        let tables = [huffman(0x00, &[(1, 1)], &[0]), huffman(0x10, &[(1, 1)], &[0])].concat();
        out.extend_from_slice(&seg(DHT, &tables));
        for p in parts {
            out.extend_from_slice(p);
        }
        out
    }

    fn check(bytes: &[u8]) -> Result<ImageInfo, Rejection> {
        let mut v = ImageValidator::new();
        let whole = v.push(bytes).and_then(|()| v.clone().finish());
        let mut b = ImageValidator::new();
        let mut r = Ok(());
        for byte in bytes {
            r = b.push(core::slice::from_ref(byte));
            if r.is_err() {
                break;
            }
        }
        assert_eq!(whole, r.and_then(|()| b.finish()));
        whole
    }

    fn ok(bytes: &[u8]) -> bool {
        check(bytes).is_ok()
    }

    fn minimal() -> Vec<u8> {
        jpeg(&[
            &ycc(),
            &seg(DHT, &[]),
            &sos(&[1, 2, 3]),
            &[0x12, 0x34],
            &END,
        ])
    }

    #[test]
    fn minimal_jpeg_is_accepted() {
        assert_eq!(
            check(&minimal()),
            Ok(ImageInfo {
                format: ImageFormat::Jpeg,
                width: 16,
                height: 8
            })
        );
    }

    #[test]
    fn info_available_right_after_sof() {
        let bytes = jpeg(&[&ycc()]);
        let mut v = ImageValidator::new();
        v.push(&bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(v.info(), None);
        v.push(&bytes[bytes.len() - 1..]).unwrap();
        assert_eq!(v.info().map(|i| (i.width, i.height)), Some((16, 8)));
    }

    #[test]
    fn only_frames_browsers_decode() {
        for marker in 0xC0..=0xCFu8 {
            for precision in [8, 12, 16] {
                let frame = sof(marker, precision, 3, 5, &[(7, 0x11, 0)]);
                // A DC-only scan suits sequential and progressive frames alike.
                let accepted = ok(&jpeg(&[&frame, &scan(&[7], 0, 0, 0), &[0], &END]));
                let expected = precision == 8 && matches!(marker, 0xC0..=0xC2 | 0xC9 | 0xCA);
                assert_eq!(accepted, expected, "{marker:#x} {precision}-bit");
            }
        }
    }

    #[test]
    fn frame_header_rules() {
        let bad_frames = [
            sof(0xC0, 8, 0, 8, &[(1, 0x11, 0)]),
            sof(0xC0, 8, 8, 0, &[(1, 0x11, 0)]),
            sof(0xC0, 8, 65501, 8, &[(1, 0x11, 0)]), // over libjpeg's 65500
            sof(0xC0, 8, 8, 8, &[]),
            sof(0xC0, 8, 8, 8, &[(1, 0x11, 0), (2, 0x11, 0)]), // two components
            sof(0xC0, 8, 8, 8, &[(1, 0x11, 0); 5]),
            sof(0xC0, 8, 8, 8, &[(1, 0x11, 0), (1, 0x11, 0), (3, 0x11, 0)]), // duplicate id
            sof(0xC0, 8, 8, 8, &[(1, 0x01, 0)]),                             // H = 0
            sof(0xC0, 8, 8, 8, &[(1, 0x15, 0)]),                             // V = 5
            sof(0xC0, 8, 8, 8, &[(1, 0x11, 4)]),                             // Tq = 4
            // 3:2 sampling: libjpeg upsamples by whole factors only.
            sof(0xC0, 8, 8, 8, &[(1, 0x31, 0), (2, 0x21, 0), (3, 0x11, 0)]),
        ];
        for (i, frame) in bad_frames.iter().enumerate() {
            let ids: Vec<u8> = (1..=3).collect();
            let bytes = jpeg(&[frame, &sos(&ids[..1]), &END]);
            assert_eq!(check(&bytes), Err(Rejection::Corrupt), "frame {i}");
        }
        // Length must match Nf exactly.
        let mut frame = sof(0xC0, 8, 8, 8, &[(1, 0x11, 0), (2, 0x11, 0), (3, 0x11, 0)]);
        frame[9] = 1;
        assert_eq!(
            check(&jpeg(&[&frame, &sos(&[1]), &END])),
            Err(Rejection::Corrupt)
        );
        // CMYK: 4 components; 4:2:0 and 4:1:1 sampling; the largest side libjpeg takes.
        let cmyk = sof(
            0xC0,
            8,
            8,
            8,
            &[(1, 0x11, 0), (2, 0x11, 0), (3, 0x11, 0), (4, 0x11, 0)],
        );
        let adobe = seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x02");
        assert!(ok(&jpeg(&[&adobe, &cmyk, &sos(&[1, 2, 3, 4]), &END])));
        let yuv411 = sof(0xC0, 8, 8, 8, &[(1, 0x41, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        assert!(ok(&jpeg(&[&yuv411, &sos(&[1, 2, 3]), &END])));
        let big = sof(0xC2, 8, 65500, 65500, &[(1, 0x11, 0)]);
        assert_eq!(
            check(&jpeg(&[&big, &scan(&[1], 0, 0, 0), &END])).map(|i| (i.width, i.height)),
            Ok((65500, 65500))
        );
        // Over it, the dimensions are still reported (the worker's limits answer first).
        let mut v = ImageValidator::new();
        v.push(&jpeg(&[&sof(0xC0, 8, 65501, 8, &[(1, 0x11, 0)])])).unwrap();
        assert_eq!(v.info().map(|i| i.width), Some(65501));
    }

    #[test]
    fn exactly_one_frame_before_scans() {
        let f = ycc();
        let s = sos(&[1, 2, 3]);
        assert_eq!(check(&jpeg(&[&f, &f, &s, &END])), Err(Rejection::Corrupt));
        assert_eq!(
            check(&jpeg(&[&f, &s, &f, &s, &END])),
            Err(Rejection::Corrupt)
        );
        assert_eq!(check(&jpeg(&[&s, &f, &END])), Err(Rejection::Corrupt));
        assert_eq!(
            check(&jpeg(&[&f, &END])),
            Err(Rejection::Corrupt),
            "no scan"
        );
        assert_eq!(check(&jpeg(&[&END])), Err(Rejection::Corrupt));
        // Progressive: several scans with tables in between.
        let dht = seg(DHT, &huffman(0x10, &[(1, 1)], &[0]));
        let sof2 = sof(0xC2, 8, 16, 8, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        let bytes = jpeg(&[
            &sof2,
            &scan(&[1, 2, 3], 0, 0, 0x01),
            &[1, 2],
            &dht,
            &scan(&[1], 1, 63, 0),
            &[3],
            &scan(&[2], 1, 63, 0),
            &scan(&[3], 1, 5, 0),
            &scan(&[1, 2, 3], 0, 0, 0x10),
            &END,
        ]);
        assert!(ok(&bytes));
    }

    #[test]
    fn scan_header_rules() {
        let f = ycc();
        let s = || sos(&[1, 2, 3]);
        let bad_scans = [
            seg(SOS, &[0, 0, 63, 0]),                               // Ns = 0
            seg(SOS, &[5, 1, 0, 2, 0, 3, 0, 1, 0, 2, 0, 0, 63, 0]), // Ns = 5
            seg(SOS, &[2, 1, 0, 0, 63, 0]),                         // Ns/length mismatch
            seg(SOS, &[1, 1, 0, 0, 63, 0, 0]),                      // length too long
            sos(&[9]),                                              // not a frame component
            sos(&[1, 1]),                                           // duplicate
            seg(SOS, &[1, 1, 0x40, 0, 63, 0]),                      // DC table 4
            seg(SOS, &[1, 1, 0x04, 0, 63, 0]),                      // AC table 4
        ];
        for (i, scan) in bad_scans.iter().enumerate() {
            assert_eq!(
                check(&jpeg(&[&f, scan, &[0], &END])),
                Err(Rejection::Corrupt),
                "scan {i}"
            );
        }
        // A sequential scan of every component is the only scan libjpeg expects.
        assert_eq!(check(&jpeg(&[&f, &s(), &[0], &s(), &END])), Err(Rejection::Corrupt));
        // Sequential scans' Ss/Se/Ah/Al only draw a libjpeg warning.
        assert!(ok(&jpeg(&[&f, &scan(&[1, 2, 3], 0, 0, 0), &END])));
        // An interleaved MCU holds at most 10 blocks.
        let wide = sof(0xC0, 8, 8, 8, &[(1, 0x44, 0), (2, 0x11, 0), (3, 0x11, 0)]);
        assert_eq!(
            check(&jpeg(&[&wide, &sos(&[1, 2]), &END])),
            Err(Rejection::Corrupt)
        );
        assert!(ok(&jpeg(&[&wide, &sos(&[1]), &sos(&[2, 3]), &END])));
        // Progressive parameters (libjpeg's JERR_BAD_PROGRESSION).
        let p = sof(0xC2, 8, 16, 8, &[(1, 0x11, 0), (2, 0x11, 0), (3, 0x11, 0)]);
        for (ids, ss, se, approximation, good) in [
            (&[1u8, 2, 3][..], 0, 0, 0x00, true),
            (&[1, 2, 3], 0, 1, 0x00, false), // DC band with Se != 0
            (&[1, 2], 1, 63, 0x00, false),   // AC band with two components
            (&[1], 5, 4, 0x00, false),       // Ss > Se
            (&[1], 1, 64, 0x00, false),      // Se past the block
            (&[1], 1, 63, 0x20, false),      // Al != Ah - 1
            (&[1], 1, 63, 0x0E, false),      // Al > 13
            (&[1], 1, 63, 0x10, true),
        ] {
            let bytes = jpeg(&[&p, &scan(ids, ss, se, approximation), &END]);
            assert_eq!(ok(&bytes), good, "{ids:?} {ss} {se} {approximation:#x}");
        }
    }

    #[test]
    fn quantization_tables() {
        let f = ycc(); // uses tables 0 and 1
        let s = sos(&[1, 2, 3]);
        let without = |tables: &[u8]| {
            let mut out = vec![0xFF, 0xD8];
            out.extend_from_slice(&seg(DQT, tables));
            out.extend_from_slice(&f);
            out.extend_from_slice(&s);
            out.extend_from_slice(&END);
            out
        };
        let table = |index: u8, bytes: usize| [&[index][..], &vec![1; bytes]].concat();
        assert!(
            ok(&without(&[table(0x00, 64), table(0x11, 128)].concat())),
            "16-bit table"
        );
        assert_eq!(
            check(&without(&table(0x00, 64))),
            Err(Rejection::Corrupt),
            "table 1 missing"
        );
        assert_eq!(
            check(&without(&[table(0x00, 64), table(0x01, 63)].concat())),
            Err(Rejection::Corrupt),
            "short"
        );
        assert_eq!(
            check(&without(&[table(0x00, 64), table(0x04, 64)].concat())),
            Err(Rejection::Corrupt),
            "Tq 4"
        );
        // A component's table must be there by its first scan, not before the frame.
        let in_time = [
            &[0xFF, 0xD8][..],
            &seg(DQT, &table(0, 64)),
            &f,
            &sos(&[1]),
            &seg(DQT, &table(1, 64)),
            &sos(&[2, 3]),
            &END,
        ]
        .concat();
        assert!(ok(&in_time));
        let late = [
            &[0xFF, 0xD8][..],
            &seg(DQT, &table(0, 64)),
            &f,
            &sos(&[2, 3]),
            &seg(DQT, &table(1, 64)),
            &sos(&[1]),
            &END,
        ]
        .concat();
        assert_eq!(check(&late), Err(Rejection::Corrupt));
    }

    #[test]
    fn huffman_tables() {
        let f = ycc();
        let s = sos(&[1, 2, 3]);
        let with = |body: &[u8]| jpeg(&[&seg(DHT, body), &f, &s, &END]);
        let good = huffman(0x00, &[(2, 3)], &[0, 1, 2]);
        assert!(ok(&with(&good)));
        assert!(ok(&with(
            &[good.clone(), huffman(0x13, &[(8, 200)], &[7; 200])].concat()
        )));
        for (what, body) in [
            ("class 2", huffman(0x20, &[(2, 1)], &[0])),
            ("table 4", huffman(0x04, &[(2, 1)], &[0])),
            (
                "over 256 symbols",
                huffman(0x10, &[(16, 255), (15, 2)], &[0; 257]),
            ),
            ("symbols missing", huffman(0x00, &[(2, 3)], &[0, 1])),
            ("trailing byte", [good.clone(), vec![0]].concat()),
        ] {
            assert_eq!(check(&with(&body)), Err(Rejection::Corrupt), "{what}");
        }
        // Tables a scan cannot build: codes that overflow their length (two 1-bit codes use
        // up the all-ones code), a DC symbol over 15. Fine while no scan uses them.
        for (what, broken) in [
            ("all-ones code", huffman(0x00, &[(1, 2)], &[0, 1])),
            ("overfull", huffman(0x10, &[(2, 5)], &[0; 5])),
            ("DC symbol 16", huffman(0x00, &[(2, 1)], &[16])),
        ] {
            assert_eq!(check(&with(&broken)), Err(Rejection::Corrupt), "{what}");
            let unused = [broken[0] | 0x02]
                .into_iter()
                .chain(broken[1..].iter().copied())
                .collect::<Vec<u8>>();
            assert!(ok(&with(&unused)), "{what} in an unused table");
            // Redefining the table repairs it.
            let repaired = huffman(broken[0], &[(2, 1)], &[0]);
            assert!(ok(&with(&[broken.clone(), repaired].concat())), "{what}");
        }
        // Undefined tables: libjpeg-turbo's sequential decoder has standard ones for 0 and 1
        // only, its progressive decoder none.
        let table_2 = seg(SOS, &[3, 1, 0x22, 2, 0x11, 3, 0x11, 0, 63, 0]);
        assert_eq!(check(&jpeg(&[&f, &table_2, &END])), Err(Rejection::Corrupt));
        let progressive = sof(0xC2, 8, 16, 8, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        let dc_table_1 = seg(SOS, &[3, 1, 0x10, 2, 0x10, 3, 0x10, 0, 0, 0]);
        assert_eq!(check(&jpeg(&[&progressive, &dc_table_1, &END])), Err(Rejection::Corrupt));
        assert!(ok(&jpeg(&[&f, &seg(SOS, &[3, 1, 0x11, 2, 0x11, 3, 0x11, 0, 63, 0]), &END])));
        let ac_symbol_16 = huffman(0x10, &[(2, 1)], &[16]);
        assert!(ok(&with(&ac_symbol_16)), "AC symbols take any byte");
        // Arithmetic frames use no Huffman table.
        let arith = sof(0xC9, 8, 16, 8, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        assert!(ok(&jpeg(&[
            &seg(DHT, &huffman(0x00, &[(1, 2)], &[0, 1])),
            &arith,
            &s,
            &END
        ])));
    }

    #[test]
    fn arithmetic_conditioning() {
        let arith = sof(0xC9, 8, 16, 8, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        let s = sos(&[1, 2, 3]);
        let with = |body: &[u8]| jpeg(&[&seg(DAC, body), &arith, &s, &END]);
        assert!(ok(&with(&[0x00, 0x10, 0x10, 5, 0x1F, 63])));
        assert_eq!(
            check(&with(&[0x20, 5])),
            Err(Rejection::Corrupt),
            "index 32"
        );
        assert_eq!(
            check(&with(&[0x00, 0x01])),
            Err(Rejection::Corrupt),
            "DC L > U"
        );
        assert_eq!(check(&with(&[0x10])), Err(Rejection::Corrupt), "odd length");
    }

    #[test]
    fn entropy_data_markers() {
        let f = ycc();
        let s = sos(&[1, 2, 3]);
        // Stuffing, restarts, fill before EOI: all stay/end correctly.
        let data: &[u8] = &[
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD7, 0xFF, 0xFF, 0xFF, 0xD3, 0x01,
        ];
        assert!(ok(&jpeg(&[
            &seg(DRI, &[0, 1]),
            &f,
            &s,
            data,
            &[0xFF, 0xFF],
            &END
        ])));
        // A scan may be followed by any table segment, DNL, TEM, then another scan.
        let between: [&[u8]; 4] = [
            &seg(0xFE, b"c"),
            &seg(0xE1, b"x"),
            &seg(0xDC, &[0, 8]),
            &[0xFF, TEM],
        ];
        for segment in between {
            let bytes = jpeg(&[&f, &sos(&[1]), &[1], segment, &sos(&[2, 3]), &[2], &END]);
            assert!(ok(&bytes), "{segment:x?}");
        }
        // Markers that may not appear after a scan.
        for marker in [0xD8u8, 0xDE, 0xDF, 0xC8, 0xF0, 0xFD, 0x02, 0xBF, 0xC3] {
            let bytes = jpeg(&[&f, &s, &[1, 0xFF, marker, 0, 4, 0, 0], &END]);
            assert_eq!(check(&bytes), Err(Rejection::Corrupt), "{marker:#x}");
        }
    }

    #[test]
    fn what_libjpeg_skips_between_segments() {
        let f = ycc();
        let s = sos(&[1, 2, 3]);
        // Junk, FF 00, fill bytes and RSTn before a marker.
        for extra in [
            &b"junk"[..],
            &[0xFF, 0x00, 0x00],
            &[0xFF, 0xFF],
            &[0xFF, 0xD0, 0x42],
        ] {
            assert!(ok(&jpeg(&[extra, &f, extra, &s, &END])), "{extra:x?}");
        }
        // APPn/COM/DNL with a bogus length (under 2) skip nothing; a short one leaves its tail
        // as junk (a truncated APP14).
        for segment in [
            &[0xFF, 0xEE, 0, 0][..],
            &[0xFF, 0xFE, 0, 1],
            &[0xFF, 0xDC, 0, 0],
            &[0xFF, 0xEE, 0, 7, b'A', b'd', b'o', b'b', b'e', 0, 100],
        ] {
            assert!(ok(&jpeg(&[segment, &f, &s, &END])), "{segment:x?}");
        }
        // Tables and headers with a length under 2 do not parse.
        for marker in [DQT, DHT, DAC, DRI, 0xC0, SOS] {
            assert_eq!(
                check(&jpeg(&[&[0xFF, marker, 0, 1], &f, &s, &END])),
                Err(Rejection::Corrupt),
                "{marker:#x}"
            );
        }
        // TEM before the first scan stops Pillow's parser; reserved codes stop libjpeg.
        for marker in [
            TEM, 0x02, 0x80, 0xBF, 0xDE, 0xDF, 0xC8, 0xF0, 0xF7, 0xFD, 0xD8,
        ] {
            assert_eq!(
                check(&jpeg(&[&[0xFF, marker], &f, &s, &END])),
                Err(Rejection::Corrupt),
                "{marker:#x}"
            );
        }
        // DRI must have length 4.
        assert_eq!(
            check(&jpeg(&[&seg(DRI, &[0]), &f, &s, &END])),
            Err(Rejection::Corrupt)
        );
        // A segment longer than the file is a truncation.
        assert_eq!(
            check(&jpeg(&[&[0xFF, 0xE1, 0xFF, 0xFF], &f, &s, &END])),
            Err(Rejection::Corrupt)
        );
    }

    #[test]
    fn bytes_after_the_first_image_are_not_judged() {
        let good = minimal();
        for trailer in [
            &b"\0"[..],
            b"\xFF",
            b"\xFF\xD8\xFF\xE0",
            b"PK\x03\x04",
            &good,
        ] {
            let bytes = [&good[..], trailer].concat();
            assert_eq!(check(&bytes), check(&good), "{trailer:x?}");
        }
        // Cut anywhere before its EOI, the first image is incomplete.
        for len in 0..good.len() {
            assert!(check(&good[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn rejection_is_immediate() {
        let mut v = ImageValidator::new();
        assert_eq!(v.push(&[0xFF, 0xD8, 0xFF, 0xD8]), Err(Rejection::Corrupt));
        assert_eq!(v.format(), Some(ImageFormat::Jpeg));
    }
}
