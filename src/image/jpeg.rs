//! Streaming structural JPEG validation (SOI and the first `FF` already consumed).
//!
//! The marker/segment structure is walked without buffering: segment bodies are skipped
//! by length, only the frame header (SOFn) and scan headers (SOS) are parsed into a small
//! fixed buffer, and entropy-coded data is scanned for `0xFF` with `memchr`.
//!
//! Accepted: one frame (SOF0-3, 5-7, 9-11, 13-15) before the first scan; DHT, DQT, DRI,
//! DAC, APPn, COM segments anywhere between markers; TEM; any number of scans (progressive
//! files have many, with tables in between); EOI after at least one scan, then nothing.
//! Rejected: a second SOI, DNL, hierarchical markers (DHP, EXP), JPG/JPGn extension and
//! reserved markers, RSTn outside a scan, stray bytes between segments.

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

const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;
const DRI: u8 = 0xDD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Between segments: the next byte must be `FF`.
    Marker,
    /// After an `FF`: the marker code (`FF` = fill byte, stay).
    MarkerCode,
    /// Reading the 2-byte segment length of `marker` into `buf`.
    Length { marker: u8 },
    /// Skipping the body of a table/APPn/COM segment.
    Skip { remaining: u16 },
    /// Buffering the body of a SOF (or SOS) segment of `len` bytes.
    Header { marker: u8, len: usize },
    /// Inside entropy-coded data.
    Entropy,
    /// Inside entropy-coded data, just after an `FF`.
    EntropyFF,
    /// EOI seen: any further byte is an error.
    End,
}

/// Constant-size JPEG marker-stream state machine.
#[derive(Clone)]
pub(crate) struct JpegParser {
    phase: Phase,
    buf: [u8; HEADER_MAX],
    buf_len: usize,
    /// Set once a valid frame header has been read.
    info: Option<ImageInfo>,
    /// Component identifiers of the frame (`frame_components` of them are valid).
    frame_ids: [u8; 4],
    frame_components: usize,
    scans: u32,
}

fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF)
}

/// Segments skipped by length: DHT, DAC, DQT, APPn, COM (DRI is length-checked too).
fn is_skipped_segment(marker: u8) -> bool {
    matches!(marker, 0xC4 | 0xCC | 0xDB | DRI | 0xE0..=0xEF | 0xFE)
}

impl JpegParser {
    /// A parser positioned after `FF D8 FF`, i.e. expecting the first marker code.
    pub(crate) fn after_soi_and_ff() -> Self {
        JpegParser {
            phase: Phase::MarkerCode,
            buf: [0; HEADER_MAX],
            buf_len: 0,
            info: None,
            frame_ids: [0; 4],
            frame_components: 0,
            scans: 0,
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

    /// Move bytes from `input` into the header buffer until it holds `want`; true once it does.
    fn fill(&mut self, input: &mut &[u8], want: usize) -> bool {
        let n = input.len().min(want.saturating_sub(self.buf_len));
        let (head, tail) = input.split_at(n);
        if let Some(dest) = self.buf.get_mut(self.buf_len..self.buf_len.saturating_add(n)) {
            dest.copy_from_slice(head);
        }
        self.buf_len = self.buf_len.saturating_add(n);
        *input = tail;
        self.buf_len >= want
    }

    pub(crate) fn push(&mut self, mut input: &[u8]) -> Result<(), Rejection> {
        while let Some((&first, after_first)) = input.split_first() {
            match self.phase {
                Phase::Entropy => match memchr::memchr(0xFF, input) {
                    Some(i) => {
                        input = input.get(i.saturating_add(1)..).unwrap_or(&[]);
                        self.phase = Phase::EntropyFF;
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
                Phase::Skip { remaining } => {
                    let n = input.len().min(usize::from(remaining));
                    input = input.get(n..).unwrap_or(&[]);
                    let remaining = remaining.saturating_sub(u16::try_from(n).unwrap_or(u16::MAX));
                    self.phase = if remaining == 0 {
                        Phase::Marker
                    } else {
                        Phase::Skip { remaining }
                    };
                }
                Phase::Marker => {
                    if first != 0xFF {
                        return Err(Rejection::Corrupt);
                    }
                    input = after_first;
                    self.phase = Phase::MarkerCode;
                }
                Phase::MarkerCode => {
                    input = after_first;
                    match first {
                        0xFF => {} // fill byte
                        marker => self.marker(marker)?,
                    }
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
                        if marker == SOS {
                            self.parse_sos(len)?;
                            self.phase = Phase::Entropy;
                        } else {
                            self.parse_sof(marker, len)?;
                            self.phase = Phase::Marker;
                        }
                    }
                }
                Phase::End => return Err(Rejection::Corrupt),
            }
        }
        Ok(())
    }

    /// A marker code (the byte after `FF`, not `FF` itself) outside entropy data.
    fn marker(&mut self, marker: u8) -> Result<(), Rejection> {
        self.phase = match marker {
            // TEM: standalone, no length.
            0x01 => Phase::Marker,
            EOI if self.scans > 0 => Phase::End,
            SOS if self.info.is_some() => Phase::Length { marker },
            m if is_sof(m) && self.info.is_none() && self.scans == 0 => Phase::Length { marker },
            m if is_skipped_segment(m) => Phase::Length { marker },
            // 0x00, RSTn outside a scan, SOI, EOI before any scan, SOS before the frame,
            // a second SOFn, DNL, DHP, EXP, JPG, JPGn, reserved 02..BF.
            _ => return Err(Rejection::Corrupt),
        };
        Ok(())
    }

    /// The 2-byte length of the segment started by `marker` (includes the length bytes).
    fn segment_length(&mut self, marker: u8, length: u16) -> Result<(), Rejection> {
        let body = usize::from(length.checked_sub(2).ok_or(Rejection::Corrupt)?);
        self.phase = if marker == SOS {
            // Ls = 6 + 2·Ns with Ns in 1..=4 (checked again once Ns is read).
            if !(6..=SOS_BODY_MAX).contains(&body) {
                return Err(Rejection::Corrupt);
            }
            Phase::Header { marker, len: body }
        } else if is_sof(marker) {
            // Lf = 8 + 3·Nf with Nf in 1..=4.
            if !(9..=SOF_BODY_MAX).contains(&body) {
                return Err(Rejection::Corrupt);
            }
            Phase::Header { marker, len: body }
        } else if marker == DRI && body != 2 {
            return Err(Rejection::Corrupt);
        } else if body == 0 {
            Phase::Marker
        } else {
            Phase::Skip {
                remaining: length.saturating_sub(2),
            }
        };
        Ok(())
    }

    fn parse_sof(&mut self, marker: u8, len: usize) -> Result<(), Rejection> {
        let body = self.buf.get(..len).ok_or(Rejection::Corrupt)?;
        let (&[precision, y0, y1, x0, x1, nf], components) =
            body.split_first_chunk::<6>().ok_or(Rejection::Corrupt)?;
        let precision_ok = match marker {
            0xC0 => precision == 8,
            // Lossless: 2..=16 bits.
            0xC3 | 0xC7 | 0xCB | 0xCF => (2..=16).contains(&precision),
            _ => precision == 8 || precision == 12,
        };
        let height = u16::from_be_bytes([y0, y1]);
        let width = u16::from_be_bytes([x0, x1]);
        let nf = usize::from(nf);
        if !precision_ok
            || height == 0
            || width == 0
            || !(1..=4).contains(&nf)
            || components.len() != nf.saturating_mul(3)
        {
            return Err(Rejection::Corrupt);
        }
        let mut ids = [0u8; 4];
        for (i, component) in components.chunks_exact(3).enumerate() {
            let &[id, sampling, tq] = component else {
                return Err(Rejection::Corrupt);
            };
            let (h, v) = (sampling >> 4, sampling & 0x0F);
            if !(1..=4).contains(&h) || !(1..=4).contains(&v) || tq > 3 {
                return Err(Rejection::Corrupt);
            }
            // Component identifiers must be distinct (scans refer to them).
            if ids.get(..i).unwrap_or(&[]).contains(&id) {
                return Err(Rejection::Corrupt);
            }
            *ids.get_mut(i).ok_or(Rejection::Corrupt)? = id;
        }
        self.frame_ids = ids;
        self.frame_components = nf;
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
        let frame_ids = self.frame_ids.get(..self.frame_components).unwrap_or(&[]);
        let (selectors, tail) = rest
            .split_at_checked(ns.saturating_mul(2))
            .ok_or(Rejection::Corrupt)?;
        let mut seen = [0u8; 4];
        for (i, pair) in selectors.chunks_exact(2).enumerate() {
            let &[cs, tables] = pair else {
                return Err(Rejection::Corrupt);
            };
            if !frame_ids.contains(&cs) || seen.get(..i).unwrap_or(&[]).contains(&cs) {
                return Err(Rejection::Corrupt);
            }
            *seen.get_mut(i).ok_or(Rejection::Corrupt)? = cs;
            if tables >> 4 > 3 || tables & 0x0F > 3 {
                return Err(Rejection::Corrupt);
            }
        }
        let &[ss, se, _approx] = tail else {
            return Err(Rejection::Corrupt);
        };
        if ss > 63 || se > 63 {
            return Err(Rejection::Corrupt);
        }
        self.scans = self.scans.saturating_add(1);
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod unit_tests {
    //! Hand-built JPEG marker streams exercising each structural rule.

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

    pub(crate) fn sos(ids: &[u8]) -> Vec<u8> {
        let mut b = vec![ids.len() as u8];
        for &id in ids {
            b.extend_from_slice(&[id, 0x00]);
        }
        b.extend_from_slice(&[0, 63, 0]);
        seg(SOS, &b)
    }

    const SOI: [u8; 2] = [0xFF, 0xD8];
    const END: [u8; 2] = [0xFF, EOI];

    fn ycc() -> Vec<u8> {
        sof(0xC0, 8, 16, 8, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)])
    }

    fn jpeg(parts: &[&[u8]]) -> Vec<u8> {
        let mut out = SOI.to_vec();
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

    fn minimal() -> Vec<u8> {
        jpeg(&[
            &seg(0xDB, &[0; 65]),
            &ycc(),
            &seg(0xC4, &[0; 20]),
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
        assert_eq!(
            v.info(),
            Some(ImageInfo {
                format: ImageFormat::Jpeg,
                width: 16,
                height: 8
            })
        );
    }

    #[test]
    fn all_sof_kinds() {
        for marker in 0xC0..=0xCFu8 {
            let precision = if matches!(marker, 0xC3 | 0xC7 | 0xCB | 0xCF) {
                16
            } else {
                8
            };
            let bytes = jpeg(&[
                &sof(marker, precision, 3, 5, &[(7, 0x11, 0)]),
                &sos(&[7]),
                &[0],
                &END,
            ]);
            assert_eq!(check(&bytes).is_ok(), is_sof(marker), "{marker:#x}");
        }
        // Baseline is 8-bit only; 12-bit needs extended/progressive.
        for (marker, precision, ok) in [
            (0xC0, 12, false),
            (0xC1, 12, true),
            (0xC2, 12, true),
            (0xC1, 16, false),
            (0xC3, 1, false),
        ] {
            let bytes = jpeg(&[
                &sof(marker, precision, 3, 5, &[(7, 0x11, 0)]),
                &sos(&[7]),
                &END,
            ]);
            assert_eq!(check(&bytes).is_ok(), ok, "{marker:#x} {precision}");
        }
    }

    #[test]
    fn frame_header_rules() {
        let bad_frames = [
            sof(0xC0, 8, 0, 8, &[(1, 0x11, 0)]),
            sof(0xC0, 8, 8, 0, &[(1, 0x11, 0)]),
            sof(0xC0, 8, 8, 8, &[]),
            sof(0xC0, 8, 8, 8, &[(1, 0x11, 0); 5]),
            sof(0xC0, 8, 8, 8, &[(1, 0x11, 0), (1, 0x11, 0)]), // duplicate id
            sof(0xC0, 8, 8, 8, &[(1, 0x01, 0)]),               // H = 0
            sof(0xC0, 8, 8, 8, &[(1, 0x15, 0)]),               // V = 5
            sof(0xC0, 8, 8, 8, &[(1, 0x11, 4)]),               // Tq = 4
        ];
        for (i, frame) in bad_frames.iter().enumerate() {
            let bytes = jpeg(&[frame, &sos(&[1]), &END]);
            assert_eq!(check(&bytes), Err(Rejection::Corrupt), "frame {i}");
        }
        // Length must match Nf exactly.
        let mut frame = sof(0xC0, 8, 8, 8, &[(1, 0x11, 0), (2, 0x11, 0)]);
        frame[9] = 1; // Nf = 1 but two components present
        assert_eq!(
            check(&jpeg(&[&frame, &sos(&[1]), &END])),
            Err(Rejection::Corrupt)
        );
        // CMYK: 4 components is the maximum.
        let cmyk = sof(
            0xC0,
            8,
            8,
            8,
            &[(1, 0x11, 0), (2, 0x11, 0), (3, 0x11, 0), (4, 0x11, 0)],
        );
        let adobe = seg(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x02");
        assert!(check(&jpeg(&[&adobe, &cmyk, &sos(&[1, 2, 3, 4]), &END])).is_ok());
        // Maximum dimensions.
        let big = sof(0xC2, 8, u16::MAX, u16::MAX, &[(1, 0x11, 0)]);
        assert_eq!(
            check(&jpeg(&[&big, &sos(&[1]), &END])),
            Ok(ImageInfo {
                format: ImageFormat::Jpeg,
                width: 65535,
                height: 65535
            })
        );
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
        let dht = seg(0xC4, &[0; 17]);
        let sof2 = sof(0xC2, 8, 16, 8, &[(1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)]);
        let bytes = jpeg(&[
            &sof2,
            &s,
            &[1, 2],
            &dht,
            &sos(&[1]),
            &[3],
            &dht,
            &sos(&[2]),
            &sos(&[3]),
            &END,
        ]);
        assert!(check(&bytes).is_ok());
    }

    #[test]
    fn scan_header_rules() {
        let f = ycc();
        let bad_scans = [
            seg(SOS, &[0, 0, 63, 0]),                               // Ns = 0
            seg(SOS, &[5, 1, 0, 2, 0, 3, 0, 1, 0, 2, 0, 0, 63, 0]), // Ns = 5
            seg(SOS, &[2, 1, 0, 0, 63, 0]),                         // Ns/length mismatch
            seg(SOS, &[1, 1, 0, 0, 63, 0, 0]),                      // length too long
            sos(&[9]),                                              // not a frame component
            sos(&[1, 1]),                                           // duplicate
            seg(SOS, &[1, 1, 0x40, 0, 63, 0]),                      // Td = 4
            seg(SOS, &[1, 1, 0, 64, 63, 0]),                        // Ss = 64
        ];
        for (i, scan) in bad_scans.iter().enumerate() {
            assert_eq!(
                check(&jpeg(&[&f, scan, &[0], &END])),
                Err(Rejection::Corrupt),
                "scan {i}"
            );
        }
    }

    #[test]
    fn entropy_data_markers() {
        let f = ycc();
        let s = sos(&[1, 2, 3]);
        // Stuffing, restarts, fill before EOI: all stay/end correctly.
        let data: &[u8] = &[
            0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD7, 0xFF, 0xFF, 0xFF, 0xD3, 0x01,
        ];
        let bytes = jpeg(&[&seg(0xDD, &[0, 1]), &f, &s, data, &[0xFF, 0xFF], &END]);
        assert!(check(&bytes).is_ok());
        // A scan may be followed by any table segment, then another scan.
        let bytes = jpeg(&[
            &f,
            &s,
            &[1],
            &seg(0xFE, b"c"),
            &seg(0xE1, b"x"),
            &s,
            &[2],
            &END,
        ]);
        assert!(check(&bytes).is_ok());
        // Markers that may not appear after a scan.
        for marker in [0xD8u8, 0xDC, 0xDE, 0xDF, 0xC8, 0xF0, 0xFD, 0x02, 0xBF] {
            let bytes = jpeg(&[&f, &s, &[1, 0xFF, marker, 0, 4, 0, 0], &END]);
            assert_eq!(check(&bytes), Err(Rejection::Corrupt), "{marker:#x}");
        }
        // DNL is rejected too.
        let bytes = jpeg(&[&f, &s, &[1], &seg(0xDC, &[0, 8]), &END]);
        assert_eq!(check(&bytes), Err(Rejection::Corrupt));
    }

    #[test]
    fn marker_rules_outside_scans() {
        let f = ycc();
        let s = sos(&[1, 2, 3]);
        // TEM is standalone; fill bytes before markers are fine.
        assert!(check(&jpeg(&[
            &[0xFF, 0x01],
            &[0xFF, 0xFF, 0xFF],
            &f[1..],
            &s,
            &END
        ]))
        .is_ok());
        // RSTn / 00 / SOI / reserved outside a scan.
        for marker in [
            0xD0u8, 0xD7, 0x00, 0xD8, 0x02, 0x80, 0xBF, 0xDE, 0xDF, 0xC8, 0xF0, 0xF7, 0xFD,
        ] {
            let bytes = jpeg(&[&[0xFF, marker], &f, &s, &END]);
            assert_eq!(check(&bytes), Err(Rejection::Corrupt), "{marker:#x}");
        }
        // Allowed segments before the frame.
        for marker in [0xC4u8, 0xCC, 0xDB, 0xE0, 0xE1, 0xE2, 0xED, 0xEE, 0xEF, 0xFE] {
            let bytes = jpeg(&[&seg(marker, b"abc"), &f, &s, &END]);
            assert!(check(&bytes).is_ok(), "{marker:#x}");
        }
        // Empty segment bodies (length 2) are fine; length < 2 is not.
        assert!(check(&jpeg(&[&seg(0xFE, b""), &f, &s, &END])).is_ok());
        for len in [0u8, 1] {
            assert_eq!(
                check(&jpeg(&[&[0xFF, 0xFE, 0, len], &f, &s, &END])),
                Err(Rejection::Corrupt)
            );
        }
        // DRI must have length 4.
        assert_eq!(
            check(&jpeg(&[&seg(0xDD, &[0]), &f, &s, &END])),
            Err(Rejection::Corrupt)
        );
        assert_eq!(
            check(&jpeg(&[&seg(0xDD, &[0, 0, 0]), &f, &s, &END])),
            Err(Rejection::Corrupt)
        );
        // Stray bytes between segments.
        assert_eq!(
            check(&jpeg(&[&f, &[0x00], &s, &END])),
            Err(Rejection::Corrupt)
        );
        // A segment longer than the file is a truncation.
        assert_eq!(
            check(&jpeg(&[&[0xFF, 0xE1, 0xFF, 0xFF], &f, &s, &END])),
            Err(Rejection::Corrupt)
        );
    }

    #[test]
    fn eoi_rules() {
        let mut good = minimal();
        assert!(check(&good).is_ok());
        for trailer in [
            &b"\0"[..],
            b"\xFF",
            b"\xFF\xD9",
            b"\xFF\xD8\xFF\xE0",
            b"PK\x03\x04",
        ] {
            let mut bytes = good.clone();
            bytes.extend_from_slice(trailer);
            assert_eq!(check(&bytes), Err(Rejection::Corrupt), "{trailer:?}");
        }
        good.pop();
        assert_eq!(check(&good), Err(Rejection::Corrupt));
    }

    #[test]
    fn rejection_is_immediate() {
        let mut v = ImageValidator::new();
        assert_eq!(v.push(&[0xFF, 0xD8, 0xFF, 0xD0]), Err(Rejection::Corrupt));
        assert_eq!(v.format(), Some(ImageFormat::Jpeg));
    }
}
