#![no_main]
// The request decoder and typed params on arbitrary bodies: never panic; a parsed id is > 0.
use list_items_upload_image::api::params::{decode, parse_upload};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = decode(data, [("view".to_string(), "default".to_string())]) {
        let _ = raw.token(Some("Bearer abcdefghijklmnop"));
        if let Ok(params) = parse_upload(&raw) {
            assert!(params.id > 0);
        }
    }
});
