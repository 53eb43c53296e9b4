#![no_main]
// The request decoder and typed params on arbitrary bodies, and the query decoder on the same
// bytes as a query string: never panic (also with debug assertions: `FUZZ_DEBUG=1 npm run
// fuzz`); a parsed id is within 1 ..= 2^53 - 1; a query has at most one pair per `&` piece.
use list_items_upload_image::api::params::{decode, parse_upload, query_pairs, MAX_ID};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(query) = std::str::from_utf8(data) {
        if let Ok(pairs) = query_pairs(Some(query)) {
            assert!(pairs.len() <= query.split('&').count());
        }
    }
    if let Ok(raw) = decode(data, [("view".to_string(), "default".to_string())]) {
        let _ = raw.token(Some("Bearer abcdefghijklmnop"));
        if let Ok(params) = parse_upload(&raw) {
            assert!((1..=MAX_ID).contains(&params.id));
        }
    }
});
