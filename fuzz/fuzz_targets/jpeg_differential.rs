#![no_main]
//! The JPEG validator against `jpeg-decoder` decoding the first image in full.
mod differential;

/// The fuzzer's memory is bounded; the worker's size and pixel limits are not the validator's.
const TOO_LARGE: &str = "larger than the fuzzer decodes";

/// The most pixels decoded: 4 MP, or `FUZZ_MAX_PIXELS` (scripts/fuzz.sh lowers it for
/// unoptimised builds, where jpeg-decoder fills a large frame for seconds even from a few bytes).
fn max_pixels() -> u64 {
    static MAX: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| std::env::var("FUZZ_MAX_PIXELS").ok().and_then(|v| v.parse().ok()).unwrap_or(1 << 22))
}

fn decode(bytes: &[u8]) -> Result<(u32, u32), String> {
    let mut decoder = jpeg_decoder::Decoder::new(bytes);
    decoder.set_max_decoding_buffer_size(1 << 24);
    decoder.read_info().map_err(|e| e.to_string())?;
    let info = decoder.info().ok_or("no frame")?;
    if u64::from(info.width) * u64::from(info.height) > max_pixels() {
        return Err(TOO_LARGE.into());
    }
    decoder.decode().map_err(|e| e.to_string())?;
    Ok((u32::from(info.width), u32::from(info.height)))
}

struct Header {
    /// The frame's marker, precision and component count.
    frame: Option<(u8, u8, u8)>,
    /// The first scan's component count and where its header ends.
    first_scan: Option<(u8, usize)>,
}

/// Walks the segments up to the first scan, skipping junk before markers as libjpeg does.
fn header(bytes: &[u8]) -> Header {
    let mut header = Header { frame: None, first_scan: None };
    let mut at = 2;
    while let (Some(&marker), Some(&hi), Some(&lo)) = (bytes.get(at + 1), bytes.get(at + 2), bytes.get(at + 3)) {
        if bytes.get(at) != Some(&0xFF) || matches!(marker, 0x00 | 0x01 | 0xD0..=0xD7 | 0xFF) {
            at += 1;
            continue;
        }
        let end = at + 2 + usize::from(u16::from_be_bytes([hi, lo]));
        let field = |offset: usize| bytes.get(at + 4 + offset).copied();
        if marker == 0xDA {
            header.first_scan = field(0).map(|ns| (ns, end));
            break;
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) && header.frame.is_none() {
            header.frame = field(0).zip(field(5)).map(|(precision, nf)| (marker, precision, nf));
        }
        at = end;
    }
    header
}

/// Some DHT segment defines a DC table with a symbol over 15 (the validator refuses it only
/// when a scan uses the table; close enough to classify a finding).
fn has_unbuildable_dc_table(bytes: &[u8]) -> bool {
    bytes.windows(4).enumerate().filter(|(_, w)| w[..2] == [0xFF, 0xC4]).any(|(at, w)| {
        let end = at + 2 + usize::from(u16::from_be_bytes([w[2], w[3]]));
        let mut tables = bytes.get(at + 4..end).unwrap_or(&[]);
        while let (Some(&class), Some(counts)) = (tables.first(), tables.get(1..17)) {
            let symbols = counts.iter().map(|&c| usize::from(c)).sum::<usize>();
            let values = tables.get(17..17 + symbols).unwrap_or(&[]);
            if class < 0x10 && values.iter().any(|&v| v > 15) {
                return true;
            }
            tables = tables.get(17 + symbols..).unwrap_or(&[]);
        }
        false
    })
}

/// Why the validator may refuse what jpeg-decoder decodes, or take what it does not.
fn deliberate(bytes: &[u8], decoded: &Result<(u32, u32), String>) -> Option<&'static str> {
    match decoded {
        // Pillow only recognises a JPEG by FF D8 FF (libjpeg skips junk after SOI).
        Ok(_) if bytes.get(2) != Some(&0xFF) => Some("junk right after SOI: Pillow does not open it"),
        Ok(_) => match header(bytes) {
            Header { frame: Some((marker, precision, components)), .. }
                if !matches!(marker, 0xC0..=0xC2 | 0xC9 | 0xCA) || precision != 8 || components == 2 =>
            {
                Some("lossless, hierarchical, 12/16-bit or 2-component: browsers do not show it")
            }
            Header { frame: Some((marker, _, components)), first_scan: Some((ns, end)) }
                if !matches!(marker, 0xC2 | 0xCA)
                    && ns == components
                    && bytes.get(end..).is_some_and(|rest| rest.windows(2).any(|w| w == [0xFF, 0xDA])) =>
            {
                Some("a scan after a sequential scan of every component: libjpeg-turbo stops")
            }
            _ if has_unbuildable_dc_table(bytes) => Some("a DC Huffman symbol over 15: libjpeg-turbo cannot build the table"),
            _ => None,
        },
        Err(e) if e == TOO_LARGE => Some(TOO_LARGE),
        // Arithmetic coding and the like: libjpeg-turbo (the yardstick) has them.
        Err(e) if e.starts_with("unsupported JPEG feature") => Some("a feature jpeg-decoder lacks"),
        // The validator does not decode entropy-coded data, and libjpeg-turbo decodes past
        // what these are about with a warning at most (bad codes and lost restarts become
        // grey blocks; odd scan parameters in sequential files; zero quantizers; TEM; junk
        // before a marker; a missing Huffman table, for which it has the standard ones; an
        // APPn/COM length under 2, which skips nothing; a component no scan covers, shown flat;
        // an Adobe APP14 transform it does not know, a warning: Pillow and djpeg decode one; a
        // DNL marker after a later scan, which libjpeg-turbo skips like any marker it ignores).
        Err(e)
            if ["huffman code", "RST", "TEM marker", "spectral selection", "point transform", "zero value", "successive approximation", "FF 00 found", "unset", "table index", "two huffman tables", "invalid length", "not all components", "color transform in adobe", "DNL"]
                .iter()
                .any(|what| e.contains(what)) =>
        {
            Some("libjpeg-turbo decodes past it")
        }
        Err(_) => None,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut bytes = b"\xff\xd8".to_vec();
    bytes.extend_from_slice(data);
    let decoded = decode(&bytes);
    differential::compare(&bytes, decoded.clone(), || deliberate(&bytes, &decoded));
});
