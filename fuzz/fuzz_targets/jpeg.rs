#![no_main]
mod image_common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| image_common::check(b"\xff\xd8", data));
