//! Exports for bench/wasm.mjs: the host copies an image into `buffer(len)`, then times
//! `copy`, `validate` and `sha256` over it, each pushing 64 KiB chunks as the worker
//! does. Each returns a value that depends on the work so none of it can be optimised away.

use std::cell::RefCell;

use list_items_upload_image::image::ImageValidator;
use sha2::{Digest, Sha256};

const CHUNK: usize = 64 * 1024;

thread_local! {
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static OUTPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of `len` bytes for the host to fill; returns its address in linear memory.
#[no_mangle]
pub extern "C" fn buffer(len: usize) -> *mut u8 {
    OUTPUT.with_borrow_mut(|out| *out = vec![0; len]);
    INPUT.with_borrow_mut(|input| {
        *input = vec![0; len];
        input.as_mut_ptr()
    })
}

fn with_input<T>(f: impl FnOnce(&[u8]) -> T) -> T {
    INPUT.with_borrow(|input| f(input))
}

/// Chunked copy into a second buffer: the yardstick. Returns the last byte copied.
#[no_mangle]
pub extern "C" fn copy() -> u32 {
    with_input(|input| {
        OUTPUT.with_borrow_mut(|out| {
            for (chunk, dest) in input.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
                dest.copy_from_slice(chunk);
            }
            out.last().copied().map_or(0, u32::from)
        })
    })
}

/// 1 when the image validates, 0 otherwise.
#[no_mangle]
pub extern "C" fn validate() -> u32 {
    with_input(|input| {
        let mut validator = ImageValidator::new();
        let pushed = input.chunks(CHUNK).all(|chunk| validator.push(chunk).is_ok());
        u32::from(pushed && validator.finish().is_ok())
    })
}

/// The digest alone; its first byte.
#[no_mangle]
pub extern "C" fn sha256() -> u32 {
    with_input(|input| {
        let mut hasher = Sha256::new();
        for chunk in input.chunks(CHUNK) {
            hasher.update(chunk);
        }
        u32::from(hasher.finalize()[0])
    })
}
