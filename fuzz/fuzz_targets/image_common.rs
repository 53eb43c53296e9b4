// Shared by the png and jpeg targets: the validator must never panic, and must reach the same
// verdict whether the bytes come whole or split at an arbitrary point.
use list_items_upload_image::image::ImageValidator;

pub fn check(prefix: &[u8], data: &[u8]) {
    let Some((&split, rest)) = data.split_first() else { return };
    let mut bytes = prefix.to_vec();
    bytes.extend_from_slice(rest);

    let mut whole = ImageValidator::new();
    let whole_verdict = whole.push(&bytes).and_then(|()| whole.finish());

    let mut chunked = ImageValidator::new();
    let at = usize::from(split).min(bytes.len());
    let (a, b) = bytes.split_at(at);
    let chunked_verdict = chunked.push(a).and_then(|()| chunked.push(b)).and_then(|()| chunked.finish());

    assert_eq!(whole_verdict, chunked_verdict);
}
