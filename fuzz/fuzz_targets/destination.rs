#![no_main]
// URL parsing, destination policy and redirect resolution on arbitrary text: never panic, and a
// hop the policy accepts must itself pass the policy.
use list_items_upload_image::fetch::destination::{check_destination, next_hop, parse_image_url, Policy};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (first, location) = text.split_once('\n').unwrap_or((text, ""));
    for policy in [Policy { allow_private: false }, Policy { allow_private: true }] {
        if let Ok(url) = parse_image_url(first) {
            let _ = check_destination(&url, policy);
            if let Ok(next) = next_hop(&url, Some(location), policy) {
                assert!(check_destination(&next, policy).is_ok(), "{next}");
            }
        }
    }
});
