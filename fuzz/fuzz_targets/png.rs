#![no_main]
mod image_common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| image_common::check(b"\x89PNG\r\n\x1a\n", data));
