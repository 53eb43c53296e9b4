#![no_main]
//! The PNG validator against the `png` crate decoding the whole image (IEND read).
mod differential;

/// The fuzzer's memory is bounded; the worker's size and pixel limits are not the validator's.
const TOO_LARGE: &str = "larger than the fuzzer decodes";

fn decode(bytes: &[u8]) -> Result<(u32, u32), String> {
    let mut decoder = png::Decoder::new_with_limits(bytes, png::Limits { bytes: 1 << 24 });
    decoder.set_ignore_text_chunk(true);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    if reader.output_buffer_size() > 1 << 24 {
        return Err(TOO_LARGE.into());
    }
    let mut pixels = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut pixels).map_err(|e| e.to_string())?;
    reader.finish().map_err(|e| e.to_string())?;
    Ok((frame.width, frame.height))
}

/// Chunk types and whether their CRC holds, up to IEND.
fn chunks(bytes: &[u8]) -> Vec<([u8; 4], bool)> {
    let mut out = Vec::new();
    let mut at = 8;
    while let Some(header) = bytes.get(at..at + 8) {
        let length = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let ty = [header[4], header[5], header[6], header[7]];
        let end = at.saturating_add(8).saturating_add(length);
        let crc_ok = match (bytes.get(at + 4..end), bytes.get(end..end.saturating_add(4))) {
            (Some(covered), Some(crc)) => crc32fast::hash(covered).to_be_bytes() == crc,
            _ => false,
        };
        out.push((ty, crc_ok));
        if &ty == b"IEND" {
            break;
        }
        at = end.saturating_add(4);
    }
    out
}

/// Why the validator may refuse what the `png` crate decodes, or take what it does not.
fn deliberate(bytes: &[u8], decoded: &Result<(u32, u32), String>) -> Option<&'static str> {
    let chunks = chunks(bytes);
    if chunks.iter().any(|(_, crc_ok)| !crc_ok) {
        return Some("a wrong CRC: the contract checks every one, the png crate skips some");
    }
    let known_critical = [*b"IHDR", *b"PLTE", *b"IDAT", *b"IEND"];
    if chunks.iter().any(|(ty, _)| !ty.iter().all(u8::is_ascii_alphabetic)) {
        return Some("a chunk name that is not letters: libpng refuses it");
    }
    if chunks.iter().any(|(ty, _)| ty[0].is_ascii_uppercase() && !known_critical.contains(ty)) {
        return Some("an unknown critical chunk: libpng refuses it");
    }
    // Colour type 3 in IHDR (its 10th data byte) without a PLTE chunk: the png crate (and
    // Chromium, which now uses it) shows a default palette, libpng refuses it.
    if bytes.get(25) == Some(&3) && !chunks.iter().any(|(ty, _)| ty == b"PLTE") {
        return Some("an indexed image without PLTE: libpng refuses it");
    }
    match decoded {
        Err(e) if e == TOO_LARGE => Some(TOO_LARGE),
        // The validator proves structure and CRCs; it does not inflate the image data.
        Err(e) if e.contains("deflate") || e.contains("image data") || e.contains("filter") => {
            Some("corrupt compressed image data")
        }
        _ => None,
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(data);
    let decoded = decode(&bytes);
    differential::compare(&bytes, decoded.clone(), || deliberate(&bytes, &decoded));
});
