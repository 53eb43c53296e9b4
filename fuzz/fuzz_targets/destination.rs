#![no_main]
// URL parsing, destination policy and redirect resolution on arbitrary text: never panic (run it
// with debug assertions too: `FUZZ_DEBUG=1 npm run fuzz`), a hop the policy accepts must itself
// pass the policy, and an accepted destination is on port 80 or 443 with an ASCII host.
use list_items_upload_image::fetch::destination::{check_destination, next_hop, parse_image_url, Policy};
use url::Url;

fn assert_public(url: &Url) {
    assert!(matches!(url.port_or_known_default(), Some(80 | 443)), "{url}");
    assert!(url.host_str().is_some_and(str::is_ascii), "{url}");
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (first, location) = text.split_once('\n').unwrap_or((text, ""));
    for policy in [Policy { allow_private: false }, Policy { allow_private: true }] {
        if let Ok(url) = parse_image_url(first) {
            if check_destination(&url, policy).is_ok() && !policy.allow_private {
                assert_public(&url);
            }
            if let Ok(next) = next_hop(&url, Some(location), policy) {
                assert!(check_destination(&next, policy).is_ok(), "{next}");
                if !policy.allow_private {
                    assert_public(&next);
                }
            }
        }
    }
});
