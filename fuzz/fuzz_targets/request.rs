#![no_main]
// The request decoder and typed params on arbitrary bodies: never panic (also with debug
// assertions: `FUZZ_DEBUG=1 npm run fuzz`); a parsed id is within 1 ..= 2^53 - 1.
use list_items_upload_image::api::params::{decode, parse_upload, MAX_ID};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = decode(data, [("view".to_string(), "default".to_string())]) {
        let _ = raw.token(Some("Bearer abcdefghijklmnop"));
        if let Ok(params) = parse_upload(&raw) {
            assert!((1..=MAX_ID).contains(&params.id));
        }
    }
});
