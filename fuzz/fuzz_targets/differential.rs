// Shared by the differential targets: the validator's verdict against a pure-Rust decoder's.
// A finding is an input one side takes in full and the other refuses, unless the difference
// is one the validator makes on purpose (`deliberate` says why); every finding is kept under
// tests/corpus/regressions/ and checked by a native test.
use list_items_upload_image::image::{ImageInfo, ImageValidator};

pub fn validate(bytes: &[u8]) -> Option<ImageInfo> {
    let mut validator = ImageValidator::new();
    validator.push(bytes).ok()?;
    validator.finish().ok()
}

/// `decoded`: the decoder's dimensions when it decoded the whole first image, or its error.
pub fn compare(bytes: &[u8], decoded: Result<(u32, u32), String>, deliberate: impl Fn() -> Option<&'static str>) {
    let validated = validate(bytes).map(|info| (info.width, info.height));
    match (validated, decoded) {
        (Some(v), Ok(d)) => assert_eq!(v, d, "validator and decoder disagree on the dimensions"),
        (None, Err(_)) => {}
        (v, d) => {
            if deliberate().is_none() {
                panic!("validator {v:?}, decoder {d:?}");
            }
        }
    }
}
