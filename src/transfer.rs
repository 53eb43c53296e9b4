//! An image body (the origin's, or the client's own for a direct upload) → validation → the
//! one R2 write of its object, as it arrives.
//!
//! The body is read in large pieces that stay JS arrays: each is copied once into wasm for
//! `Ingest`, hashed by the runtime, and written as is to R2. The write opens at the object's
//! final key as soon as the signature bytes have told its format (API.md §4):
//! - with a `Content-Length`, a put of exactly that many bytes, fed piece by piece;
//! - without one, parts of `PART` bytes assembled in a JS buffer (outside wasm memory) and
//!   uploaded as a multipart upload once a byte past the first part shows one part is not
//!   enough; a body that fits in one part is one put.
//!
//! Either way memory per upload is bounded whatever the body's size, and the last piece is
//! handed to the write only when the whole image is proven, so an invalid, short or overlong
//! body never becomes an object: the write is aborted instead.

use std::cell::Cell;

use js_sys::Uint8Array;

use crate::api::failure::UrlFailure;
use crate::config::Limits;
use crate::image::ImageFormat;
use crate::ingest::{AcceptedImage, Ingest, ProvenImage};
use crate::store::images::{ImageBucket, ImageWrite, ObjectSpec};
use crate::node_builtins::{self, Sha256};
use crate::streams::PieceReader;

/// The body is read in pieces of this size (the last one shorter): every piece costs a few
/// promises and handles in the runtime, which cost more than the bytes do.
pub const PIECE: u32 = 1024 * 1024;

/// Pieces go through wasm a slice at a time: copied in, validated and hashed while the slice
/// is still in the CPU's cache (a whole piece would not be), and wasm memory stays one slice
/// per upload whatever the piece size.
const SLICE: u32 = 64 * 1024;

/// Multipart part size: R2's minimum for every part but the last (all but the last must be
/// the same size), a whole number of pieces.
const PART: u32 = 5 * 1024 * 1024;

pub enum TransferError {
    /// The bytes are not a storable image (or did not all arrive).
    Rejected(UrlFailure),
    /// Storage failed (`application-crash`); the detail is for the log.
    Store(String),
}

impl From<UrlFailure> for TransferError {
    fn from(failure: UrlFailure) -> Self {
        TransferError::Rejected(failure)
    }
}

/// A body to receive, and what its sender announced of its length.
pub struct Body {
    pub reader: PieceReader,
    pub announced: Option<u64>,
}

/// Every byte arrived and proven, and written to `write` but for the last piece it holds.
pub struct Received {
    pub write: ImageWrite,
    pub key: String,
    pub image: AcceptedImage,
}

/// Where the pipeline waits: a deadline that passes while storage, not the body, is slow is
/// a storage failure.
#[derive(Default)]
pub struct Waiting {
    on_storage: Cell<bool>,
}

impl Waiting {
    pub fn on_storage(&self) -> bool {
        self.on_storage.get()
    }
}

/// Receives `body` into a write opened at `spec(format)`. On any failure the write is aborted
/// and the body cancelled before this returns.
pub async fn receive(
    body: Body,
    limits: Limits,
    images: &ImageBucket,
    spec: impl Fn(ImageFormat) -> ObjectSpec,
    waiting: &Waiting,
) -> Result<Received, TransferError> {
    node_builtins::accelerate();
    let ingest = Ingest::new(limits);
    if let Err(e) = ingest.check_announced_length(body.announced) {
        body.reader.cancel();
        return Err(e.into());
    }
    let mut incoming = Incoming { reader: body.reader, ingest, digest: Sha256::default(), copy: Vec::with_capacity(SLICE as usize) };
    let mut write = None;
    let mut opened = Opened { images, spec: &spec, write: &mut write, waiting };
    let received = match body.announced {
        Some(length) => announced(&mut incoming, length, &mut opened).await,
        None => unannounced(&mut incoming, &mut opened).await,
    };
    let accepted = match received {
        Ok((done, key, proven)) => {
            write = Some(done);
            incoming.accept(proven).map(|image| (key, image))
        }
        Err(e) => Err(e),
    };
    match (accepted, write) {
        (Ok((key, image)), Some(write)) => Ok(Received { write, key, image }),
        (accepted, write) => {
            incoming.reader.cancel();
            if let Some(mut write) = write {
                write.abort().await;
            }
            Err(accepted.err().unwrap_or_else(|| TransferError::Store("no write is open".into())))
        }
    }
}

/// The write, once the format is known. Kept outside the receiving functions so a failure
/// anywhere can abort it.
struct Opened<'a, S> {
    images: &'a ImageBucket,
    spec: &'a S,
    write: &'a mut Option<ImageWrite>,
    waiting: &'a Waiting,
}

impl<S: Fn(ImageFormat) -> ObjectSpec> Opened<'_, S> {
    fn spec_for(&self, ingest: &Ingest) -> Result<ObjectSpec, UrlFailure> {
        // A piece is read in full unless the body ends, and a valid signature fits in the
        // first: without a format here, the body ended short of what was announced.
        Ok((self.spec)(ingest.format().ok_or(UrlFailure::Unreachable)?))
    }

    /// Writes a piece that is not the last.
    async fn write(&mut self, piece: &Uint8Array) -> Result<(), TransferError> {
        let write = self.write.as_mut().ok_or_else(|| TransferError::Store("no write is open".into()))?;
        on_storage(self.waiting, write.write(piece)).await.map_err(TransferError::Store)
    }

    /// Opens the multipart upload once a body has proven longer than one part.
    async fn start_multipart(&mut self, spec: &ObjectSpec) -> Result<(), TransferError> {
        let upload = on_storage(self.waiting, self.images.multipart(spec)).await;
        *self.write = Some(upload.map_err(TransferError::Store)?);
        Ok(())
    }

    /// The open write, its key and the proof, with the last piece held back in it.
    fn finish(&mut self, last: Uint8Array, key: String, proven: ProvenImage) -> Result<(ImageWrite, String, ProvenImage), TransferError> {
        let mut write = self.write.take().ok_or_else(|| TransferError::Store("no write is open".into()))?;
        write.hold_last(last);
        Ok((write, key, proven))
    }
}

/// Awaits `work`, noting meanwhile that storage, not the body, is what is being waited on.
async fn on_storage<T>(waiting: &Waiting, work: impl std::future::Future<Output = T>) -> T {
    waiting.on_storage.set(true);
    let done = work.await;
    waiting.on_storage.set(false);
    done
}

type Proven = (ImageWrite, String, ProvenImage);

/// A body of announced `length`: one put of exactly that many bytes, fed as pieces arrive.
async fn announced<S: Fn(ImageFormat) -> ObjectSpec>(incoming: &mut Incoming, length: u64, opened: &mut Opened<'_, S>) -> Result<Proven, TransferError> {
    let first_size = u32::try_from(length.clamp(1, u64::from(PIECE))).unwrap_or(PIECE);
    let Some(first) = incoming.next(Uint8Array::new_with_length(first_size)).await? else {
        return Err(incoming.ingest.finish().err().unwrap_or(UrlFailure::Unreachable).into());
    };
    if incoming.ingest.received() == length {
        // The whole body in one piece: one put of it, once proven.
        incoming.expect_end().await?;
        let proven = incoming.ingest.finish()?;
        let spec = (opened.spec)(proven.info.format);
        let key = spec.key.clone();
        return Ok((opened.images.whole(spec, first), key, proven));
    }
    let spec = opened.spec_for(&incoming.ingest)?;
    let key = spec.key.clone();
    *opened.write = Some(opened.images.streamed(&spec, length).map_err(TransferError::Store)?);
    // The piece being handled, and the one last handed to the write.
    let (mut piece, mut in_write) = (first, None::<Uint8Array>);
    loop {
        let received = incoming.ingest.received();
        if received > length {
            return Err(UrlFailure::Unreachable.into()); // longer than announced
        }
        if received == length {
            incoming.expect_end().await?;
            let proven = incoming.ingest.finish()?;
            return opened.finish(piece, key, proven);
        }
        opened.write(&piece).await?;
        // That write waited for the previous one to finish: its piece is free to read into.
        let view = match in_write.replace(piece) {
            Some(spare) => Uint8Array::new(&spare.buffer()),
            None => Uint8Array::new_with_length(PIECE),
        };
        piece = incoming.next(view).await?.ok_or(UrlFailure::Unreachable)?; // shorter than announced
    }
}

/// A body of unknown length: assembled into parts of `PART` bytes; one put if it ends within
/// the first part, else a multipart upload. A full part is uploaded only once a further byte
/// shows it is not the last (the last part is the one held back).
async fn unannounced<S: Fn(ImageFormat) -> ObjectSpec>(incoming: &mut Incoming, opened: &mut Opened<'_, S>) -> Result<Proven, TransferError> {
    // Pieces are read into their own buffer and copied into the part by the runtime: a read
    // transfers the buffer it fills, which the part must never be.
    let part = Uint8Array::new_with_length(PART);
    let mut filled = 0;
    let mut spare = None;
    loop {
        let view = match spare.take() {
            Some(used) => Uint8Array::new(&Uint8Array::buffer(&used)),
            None => Uint8Array::new_with_length(PIECE),
        };
        let Some(piece) = incoming.next(view).await? else { break };
        let mut offset = 0;
        while offset < piece.length() {
            if filled == PART {
                if opened.write.is_none() {
                    let spec = opened.spec_for(&incoming.ingest)?;
                    opened.start_multipart(&spec).await?;
                }
                opened.write(&part).await?;
                filled = 0;
            }
            let take = (PART - filled).min(piece.length() - offset);
            part.set(&piece.subarray(offset, offset + take), filled);
            filled += take;
            offset += take;
        }
        spare = Some(piece);
    }
    let proven = incoming.ingest.finish()?;
    let last = part.subarray(0, filled);
    let spec = (opened.spec)(proven.info.format);
    let key = spec.key.clone();
    if opened.write.is_some() {
        return opened.finish(last, key, proven);
    }
    Ok((opened.images.whole(spec, last), key, proven))
}

/// The body as it arrives: every piece is copied once into wasm, a slice at a time, validated
/// and hashed there (the hash and the PNG CRC natively, through views) before anything else
/// sees it.
struct Incoming {
    reader: PieceReader,
    ingest: Ingest,
    digest: Sha256,
    /// The wasm copy of the current slice.
    copy: Vec<u8>,
}

impl Incoming {
    /// Reads the next piece into `view` (its buffer is transferred: use the returned piece).
    async fn next(&mut self, view: Uint8Array) -> Result<Option<Uint8Array>, TransferError> {
        let Some(piece) = self.reader.next_into(view).await.map_err(|_| UrlFailure::Unreachable)? else { return Ok(None) };
        self.ingest.check_room(u64::from(piece.length()))?;
        let mut offset = 0;
        while offset < piece.length() {
            let end = piece.length().min(offset + SLICE);
            self.copy.resize((end - offset) as usize, 0);
            piece.subarray(offset, end).copy_to(&mut self.copy);
            self.ingest.push(&self.copy)?;
            self.digest.update(&self.copy).map_err(TransferError::Store)?;
            offset = end;
        }
        Ok(Some(piece))
    }

    /// After the announced length, nothing more may come, whatever its bytes.
    async fn expect_end(&mut self) -> Result<(), TransferError> {
        match self.reader.next_into(Uint8Array::new_with_length(1)).await {
            Ok(None) => Ok(()),
            _ => Err(UrlFailure::Unreachable.into()),
        }
    }

    fn accept(&mut self, proven: ProvenImage) -> Result<AcceptedImage, TransferError> {
        Ok(proven.with_digest(self.digest.finish().map_err(TransferError::Store)?))
    }
}
