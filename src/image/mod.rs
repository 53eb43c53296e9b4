//! Streaming PNG/JPEG validation.
//!
//! [`ImageValidator`] is fed an upload chunk by chunk, keeps only a few dozen bytes of
//! state (it never buffers image data), sniffs the format from the first bytes, exposes
//! the dimensions as soon as the header has been read, and only accepts a file that is
//! structurally complete: every PNG chunk CRC is verified and the JPEG marker/segment
//! structure is walked up to EOI. Nothing is decoded (no inflate, no Huffman decoding).
//!
//! The code is pure Rust, free of `unsafe` and written to never panic on any input.

mod crc32;
pub mod format;
pub mod jpeg;
pub mod png;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;

pub use crc32::{accelerate as accelerate_crc32, Accelerator as Crc32Accelerator};
pub use format::{ImageFormat, ImageInfo, ImageValidator, Rejection};
