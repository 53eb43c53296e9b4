//! The bytes of one fetched image on their way to storage: size cap, incremental format
//! validation and dimension limits, decided chunk by chunk as they arrive. Pure. (The sha256
//! is the runtime's: node:crypto hashes natively, several times faster than wasm; see
//! `node_builtins`.)

use crate::api::failure::UrlFailure;
use crate::config::Limits;
use crate::image::{ImageFormat, ImageInfo, ImageValidator, Rejection};

/// Every byte seen and proven to be one whole image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProvenImage {
    pub info: ImageInfo,
    pub bytes: u64,
}

impl ProvenImage {
    pub fn with_digest(self, sha256_hex: String) -> AcceptedImage {
        AcceptedImage { info: self.info, bytes: self.bytes, sha256_hex }
    }
}

/// A proven image with the sha256 of its bytes: what gets stored and recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedImage {
    pub info: ImageInfo,
    pub bytes: u64,
    pub sha256_hex: String,
}

pub struct Ingest {
    limits: Limits,
    validator: ImageValidator,
    received: u64,
    dimensions_checked: bool,
}

fn rejection(r: Rejection) -> UrlFailure {
    match r {
        Rejection::Empty => UrlFailure::Empty,
        Rejection::UnsupportedType => UrlFailure::UnsupportedType,
        Rejection::Corrupt => UrlFailure::Corrupt,
    }
}

impl Ingest {
    pub fn new(limits: Limits) -> Self {
        Ingest { limits, validator: ImageValidator::new(), received: 0, dimensions_checked: false }
    }

    /// An announced `Content-Length` over the cap is refused before any byte is read.
    pub fn check_announced_length(&self, length: Option<u64>) -> Result<(), UrlFailure> {
        match length {
            Some(length) if length > self.limits.max_image_bytes => Err(UrlFailure::TooLarge),
            _ => Ok(()),
        }
    }

    /// Refuses a piece of `len` bytes that would take the body past the cap, before anyone
    /// copies it anywhere.
    pub fn check_room(&self, len: u64) -> Result<(), UrlFailure> {
        match self.received.checked_add(len) {
            Some(total) if total <= self.limits.max_image_bytes => Ok(()),
            _ => Err(UrlFailure::TooLarge),
        }
    }

    pub fn push(&mut self, chunk: &[u8]) -> Result<(), UrlFailure> {
        self.check_room(chunk.len() as u64)?;
        self.received += chunk.len() as u64;
        self.validator.push(chunk).map_err(rejection)?;
        if !self.dimensions_checked {
            if let Some(info) = self.validator.info() {
                self.check_dimensions(info)?;
                self.dimensions_checked = true;
            }
        }
        Ok(())
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    /// Known from the signature bytes: what the object's key and type will be.
    pub fn format(&self) -> Option<ImageFormat> {
        self.validator.format()
    }

    fn check_dimensions(&self, info: ImageInfo) -> Result<(), UrlFailure> {
        let side = self.limits.max_image_side;
        let pixels = u64::from(info.width) * u64::from(info.height);
        if info.width > side || info.height > side || pixels > self.limits.max_image_pixels {
            Err(UrlFailure::TooManyPixels)
        } else {
            Ok(())
        }
    }

    /// The verdict on everything pushed; the ingest is spent afterwards.
    pub fn finish(&mut self) -> Result<ProvenImage, UrlFailure> {
        let validator = std::mem::take(&mut self.validator);
        let info = validator.finish().map_err(rejection)?;
        Ok(ProvenImage { info, bytes: self.received })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/fixtures/images/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    fn ingest(bytes: &[u8], limits: Limits) -> Result<ProvenImage, UrlFailure> {
        let mut ingest = Ingest::new(limits);
        for chunk in bytes.chunks(100) {
            ingest.push(chunk)?;
        }
        ingest.finish()
    }

    #[test]
    fn accepts_png_and_jpeg() {
        let png = fixture("sample.png");
        let accepted = ingest(&png, Limits::default()).unwrap();
        assert_eq!((accepted.info.format, accepted.info.width, accepted.info.height), (ImageFormat::Png, 64, 48));
        assert_eq!(accepted.bytes, png.len() as u64);
        assert_eq!(ingest(&fixture("sample.jpg"), Limits::default()).unwrap().info.format, ImageFormat::Jpeg);
    }

    #[test]
    fn limits() {
        let png = fixture("sample.png");
        let cap = |max_image_bytes| Limits { max_image_bytes, ..Limits::default() };
        assert_eq!(ingest(&png, cap(png.len() as u64 - 1)), Err(UrlFailure::TooLarge));
        assert!(ingest(&png, cap(png.len() as u64)).is_ok());
        assert_eq!(Ingest::new(cap(10)).check_announced_length(Some(11)), Err(UrlFailure::TooLarge));
        assert_eq!(Ingest::new(cap(10)).check_announced_length(None), Ok(()));
        let mut partial = Ingest::new(cap(png.len() as u64));
        assert_eq!(partial.check_room(png.len() as u64 + 1), Err(UrlFailure::TooLarge));
        partial.push(&png[..10]).unwrap();
        assert_eq!(partial.check_room(png.len() as u64 - 10), Ok(()));
        assert_eq!(partial.check_room(png.len() as u64 - 9), Err(UrlFailure::TooLarge));
        assert_eq!(partial.check_room(u64::MAX), Err(UrlFailure::TooLarge));
        let side = Limits { max_image_side: 63, ..Limits::default() };
        assert_eq!(ingest(&png, side), Err(UrlFailure::TooManyPixels));
        let pixels = Limits { max_image_pixels: 64 * 48 - 1, ..Limits::default() };
        assert_eq!(ingest(&png, pixels), Err(UrlFailure::TooManyPixels));
        assert!(ingest(&png, Limits { max_image_pixels: 64 * 48, max_image_side: 64, ..Limits::default() }).is_ok());
    }

    #[test]
    fn rejections_map_to_reasons() {
        assert_eq!(ingest(b"", Limits::default()), Err(UrlFailure::Empty));
        assert_eq!(ingest(&fixture("sample.gif"), Limits::default()), Err(UrlFailure::UnsupportedType));
        let png = fixture("sample.png");
        assert_eq!(ingest(&png[..png.len() / 2], Limits::default()), Err(UrlFailure::Corrupt));
    }
}
