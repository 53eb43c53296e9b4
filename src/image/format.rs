//! Public types and the format-sniffing front end of the validator.

use super::jpeg::JpegParser;
use super::png::{PngParser, PNG_SIGNATURE};

/// An accepted image format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
}

impl ImageFormat {
    /// MIME type to store / serve the image with.
    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
        }
    }

    /// Canonical file extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpg",
        }
    }
}

/// Format and pixel dimensions of a (possibly still incomplete) image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// Why an upload was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// No bytes at all.
    Empty,
    /// The first bytes are neither a PNG nor a JPEG signature.
    UnsupportedType,
    /// Starts like a PNG/JPEG but is malformed or truncated.
    Corrupt,
}

impl Rejection {
    /// Stable machine-readable reason string.
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::Empty => "empty",
            Rejection::UnsupportedType => "unsupported-type",
            Rejection::Corrupt => "corrupt",
        }
    }
}

/// JPEG files start with SOI (`FF D8`) followed by the `FF` of the next marker.
const JPEG_SIGNATURE: [u8; 3] = [0xFF, 0xD8, 0xFF];

#[derive(Clone)]
enum Inner {
    /// Still collecting the first bytes (at most 8) to decide the format.
    Sniffing {
        buf: [u8; 8],
        len: usize,
    },
    Png(PngParser),
    Jpeg(JpegParser),
    /// Rejected; remembers the sniffed format (if any) for `format()`.
    Failed(Rejection, Option<ImageFormat>),
}

/// Incremental validator: fed chunk by chunk with constant memory (never buffers the
/// image; only small fixed-size header state), sniffs the format from the first bytes.
///
/// `Clone` is cheap (a few dozen bytes) and lets a caller snapshot the state.
#[derive(Clone)]
pub struct ImageValidator {
    inner: Inner,
}

impl Default for ImageValidator {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for ImageValidator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let state = match &self.inner {
            Inner::Sniffing { .. } => "sniffing",
            Inner::Png(_) => "png",
            Inner::Jpeg(_) => "jpeg",
            Inner::Failed(..) => "failed",
        };
        f.debug_struct("ImageValidator")
            .field("state", &state)
            .field("info", &self.info())
            .finish()
    }
}

impl ImageValidator {
    pub fn new() -> Self {
        ImageValidator {
            inner: Inner::Sniffing {
                buf: [0; 8],
                len: 0,
            },
        }
    }

    /// Feed the next bytes. `Err` as soon as the bytes can no longer be a valid PNG/JPEG.
    /// After an `Err`, further calls keep returning the same `Err`.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), Rejection> {
        let result = self.push_inner(chunk);
        if let Err(rejection) = result {
            let format = self.format();
            self.inner = Inner::Failed(rejection, format);
        }
        result
    }

    fn push_inner(&mut self, chunk: &[u8]) -> Result<(), Rejection> {
        match &mut self.inner {
            Inner::Failed(rejection, _) => Err(*rejection),
            Inner::Png(parser) => parser.push(chunk),
            Inner::Jpeg(parser) => parser.push(chunk),
            Inner::Sniffing { buf, len } => {
                let mut rest = chunk;
                while let Some((&byte, tail)) = rest.split_first() {
                    rest = tail;
                    let slot = buf.get_mut(*len).ok_or(Rejection::UnsupportedType)?;
                    *slot = byte;
                    *len = len.saturating_add(1);
                    let seen = buf.get(..*len).unwrap_or(&[]);
                    if seen == PNG_SIGNATURE.as_slice() {
                        self.inner = Inner::Png(PngParser::new());
                        return self.push_inner(rest);
                    }
                    if seen == JPEG_SIGNATURE.as_slice() {
                        self.inner = Inner::Jpeg(JpegParser::after_soi_and_ff());
                        return self.push_inner(rest);
                    }
                    if !PNG_SIGNATURE.starts_with(seen) && !JPEG_SIGNATURE.starts_with(seen) {
                        return Err(Rejection::UnsupportedType);
                    }
                }
                Ok(())
            }
        }
    }

    /// The format once the signature is seen (PNG: 8-byte signature; JPEG: FF D8 FF).
    /// Still reported after a later `Corrupt` rejection (the signature was seen).
    pub fn format(&self) -> Option<ImageFormat> {
        match &self.inner {
            Inner::Png(_) => Some(ImageFormat::Png),
            Inner::Jpeg(_) => Some(ImageFormat::Jpeg),
            Inner::Failed(_, format) => *format,
            Inner::Sniffing { .. } => None,
        }
    }

    /// Format and dimensions as soon as the header is parsed (PNG: IHDR including its
    /// CRC; JPEG: the frame header SOFn), so the caller can enforce size/pixel limits
    /// before the body ends. `None` after a rejection.
    pub fn info(&self) -> Option<ImageInfo> {
        match &self.inner {
            Inner::Png(parser) => parser.info(),
            Inner::Jpeg(parser) => parser.info(),
            Inner::Sniffing { .. } | Inner::Failed(..) => None,
        }
    }

    /// End of input: `Ok` only if the whole file was a complete, valid image.
    /// Empty input -> `Empty`. Truncated -> `Corrupt`.
    pub fn finish(self) -> Result<ImageInfo, Rejection> {
        match self.inner {
            Inner::Failed(rejection, _) => Err(rejection),
            Inner::Sniffing { len: 0, .. } => Err(Rejection::Empty),
            // A proper prefix of a signature: a truncated PNG/JPEG.
            Inner::Sniffing { .. } => Err(Rejection::Corrupt),
            Inner::Png(parser) => parser.finish(),
            Inner::Jpeg(parser) => parser.finish(),
        }
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    fn run(bytes: &[u8]) -> Result<ImageInfo, Rejection> {
        let mut v = ImageValidator::new();
        let _ = v.push(bytes);
        v.finish()
    }

    #[test]
    fn names() {
        assert_eq!(ImageFormat::Png.content_type(), "image/png");
        assert_eq!(ImageFormat::Jpeg.content_type(), "image/jpeg");
        assert_eq!(ImageFormat::Png.extension(), "png");
        assert_eq!(ImageFormat::Jpeg.extension(), "jpg");
        assert_eq!(Rejection::Empty.reason(), "empty");
        assert_eq!(Rejection::UnsupportedType.reason(), "unsupported-type");
        assert_eq!(Rejection::Corrupt.reason(), "corrupt");
    }

    #[test]
    fn empty_input() {
        assert_eq!(run(b""), Err(Rejection::Empty));
        let mut v = ImageValidator::default();
        assert_eq!(v.push(b""), Ok(()));
        assert_eq!(v.push(b""), Ok(()));
        assert_eq!(v.format(), None);
        assert_eq!(v.finish(), Err(Rejection::Empty));
    }

    #[test]
    fn unsupported_is_decided_early() {
        for first in [b'G', b'R', b'<', b'B', b' ', b'{', 0x00, 0xEF] {
            let mut v = ImageValidator::new();
            assert_eq!(
                v.push(&[first]),
                Err(Rejection::UnsupportedType),
                "{first:#x}"
            );
            // Sticky.
            assert_eq!(v.push(b"anything"), Err(Rejection::UnsupportedType));
            assert_eq!(v.format(), None);
            assert_eq!(v.finish(), Err(Rejection::UnsupportedType));
        }
        // Diverges from both signatures at byte 2 or 3.
        for bytes in [
            &b"\x89PX"[..],
            b"\x89Q",
            b"\xFF\xD9",
            b"\xFF\xD8\x00",
            b"\xFF\x00",
        ] {
            let mut v = ImageValidator::new();
            assert_eq!(v.push(bytes), Err(Rejection::UnsupportedType), "{bytes:?}");
        }
    }

    #[test]
    fn signature_prefixes_are_truncated_images() {
        for n in 1..8 {
            assert_eq!(
                run(&PNG_SIGNATURE[..n]),
                Err(Rejection::Corrupt),
                "png prefix {n}"
            );
        }
        assert_eq!(run(b"\xFF"), Err(Rejection::Corrupt));
        assert_eq!(run(b"\xFF\xD8"), Err(Rejection::Corrupt));
        assert_eq!(run(b"\xFF\xD8\xFF"), Err(Rejection::Corrupt));
        assert_eq!(run(&PNG_SIGNATURE), Err(Rejection::Corrupt));
    }

    #[test]
    fn format_known_after_signature() {
        let mut v = ImageValidator::new();
        v.push(&PNG_SIGNATURE[..7]).unwrap();
        assert_eq!(v.format(), None);
        v.push(&PNG_SIGNATURE[7..]).unwrap();
        assert_eq!(v.format(), Some(ImageFormat::Png));
        assert_eq!(v.info(), None);

        let mut v = ImageValidator::new();
        v.push(b"\xFF\xD8").unwrap();
        assert_eq!(v.format(), None);
        v.push(b"\xFF").unwrap();
        assert_eq!(v.format(), Some(ImageFormat::Jpeg));
        assert_eq!(v.info(), None);
    }

    #[test]
    fn errors_are_sticky() {
        let mut v = ImageValidator::new();
        assert_eq!(v.push(b"\xFF\xD8\xFF\xD8"), Err(Rejection::Corrupt));
        assert_eq!(v.push(b""), Err(Rejection::Corrupt));
        assert_eq!(v.push(b"\xFF\xD9"), Err(Rejection::Corrupt));
        assert_eq!(v.format(), Some(ImageFormat::Jpeg));
        assert_eq!(v.info(), None);
        assert_eq!(v.finish(), Err(Rejection::Corrupt));
    }
}
