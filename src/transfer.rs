//! Origin → validation → R2, under one deadline (`FETCH_TIMEOUT_MS`).
//!
//! The origin body is read in large pieces that stay JS arrays: each is copied once into wasm
//! for `Ingest`, hashed by the runtime, and (when streaming) written as is to R2.
//! With a `Content-Length` above `STREAM_THRESHOLD`, pieces go straight into a
//! `FixedLengthStream` put under a staging key from the first byte: memory stays constant
//! (however late the image header comes), and an invalid piece, an image that is not whole at
//! its last byte, or a body longer/shorter than announced aborts the stream before its last
//! byte, so R2 never commits it. Once the whole image is proven, R2
//! copies the staged object to its final key natively (no bytes through wasm) with the full
//! metadata, sha256 included, which is only known after the last byte.
//! Smaller or unannounced bodies are buffered (at most `MAX_IMAGE_BYTES`) and put once.
//! Every key written is deleted on failure, and the staging key always, so no object outlives
//! a failed transfer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::{join, select, Either};
use url::Url;
use worker::js_sys::Uint8Array;
use worker::{AbortController, AbortSignal, Delay, ResponseBody};

use crate::api::failure::UrlFailure;
use crate::config::Limits;
use crate::edge::{now_ms, random_hex};
use crate::fetch::remote::{announced_length, open};
use crate::image::ImageInfo;
use crate::ingest::{AcceptedImage, Ingest, ProvenImage};
use crate::list_item::object_key;
use crate::store::images::ImageBucket;
use crate::streams::{PieceReader, PieceWriter, Sha256Stream};

/// Bodies announced above this size are streamed into R2 instead of buffered.
pub const STREAM_THRESHOLD: u64 = 1024 * 1024;

/// The origin body is read in pieces of this size (the last one shorter): every piece costs
/// a few promises and a crossing into wasm, which cost more than the bytes do.
const PIECE: u32 = 256 * 1024;

/// After the deadline aborts the origin request, how long the transfer may take to wind down
/// (a put already past its last byte finishes) before its keys are deleted.
const ABORT_GRACE: Duration = Duration::from_millis(3000);

/// Streamed objects wait here until proven valid; `is_image_key` never serves this prefix.
const STAGING_PREFIX: &str = "incoming/";

pub enum TransferError {
    /// The URL did not yield a valid image (`invalid-url`).
    Url(UrlFailure),
    /// Storage failed (`application-crash`); the detail is for the log.
    Store(String),
}

impl From<UrlFailure> for TransferError {
    fn from(failure: UrlFailure) -> Self {
        TransferError::Url(failure)
    }
}

/// Where the object goes and what it is tagged with (width, height, sha256 are added here).
pub struct ObjectPlan {
    pub item_id: i64,
    pub metadata: HashMap<String, String>,
}

pub struct StoredObject {
    pub key: String,
    pub image: AcceptedImage,
    pub streamed: bool,
    /// The final R2 write: the put of a buffered image, the copy of a staged one.
    pub r2_ms: f64,
}

/// The keys a transfer may have written, so it can clean up after itself.
#[derive(Default)]
struct Written {
    staging: Option<String>,
    final_key: Option<String>,
}

pub async fn transfer(url: &Url, limits: &Limits, plan: &ObjectPlan, images: &ImageBucket) -> Result<StoredObject, TransferError> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let written = RefCell::new(Written::default());
    let work = Box::pin(fetch_and_store(url, limits, plan, images, &signal, &written));
    let deadline = Delay::from(Duration::from_millis(limits.fetch_timeout_ms));
    let outcome = match select(work, deadline).await {
        Either::Left((result, _)) => result,
        Either::Right(((), work)) => {
            // Cancel the origin request: its body errors, so a put still reading it cannot
            // commit. A put already past its last byte is let finish, so the cleanup below
            // deletes what it wrote instead of racing it.
            controller.abort();
            let _ = select(work, Delay::from(ABORT_GRACE)).await;
            Err(TransferError::Url(UrlFailure::Timeout))
        }
    };
    let written = written.into_inner();
    let doomed = written.staging.into_iter().chain(written.final_key.filter(|_| outcome.is_err()));
    for key in doomed {
        if let Err(e) = images.delete(&key).await {
            worker::console_error!("{}", serde_json::json!({"event": "failed-transfer-cleanup", "key": key, "error": e}));
        }
    }
    outcome
}

async fn fetch_and_store(
    url: &Url,
    limits: &Limits,
    plan: &ObjectPlan,
    images: &ImageBucket,
    signal: &AbortSignal,
    written: &RefCell<Written>,
) -> Result<StoredObject, TransferError> {
    let response = open(url, limits, signal).await?;
    let announced = announced_length(&response);
    let ingest = Ingest::new(*limits);
    ingest.check_announced_length(announced)?;
    let ResponseBody::Stream(body) = response.body() else { return Err(UrlFailure::Empty.into()) };
    let mut incoming = Incoming {
        reader: PieceReader::new(body, PIECE).map_err(TransferError::Store)?,
        ingest,
        digest: Sha256Stream::new().map_err(TransferError::Store)?,
    };
    let result = store(&mut incoming, announced, plan, images, written).await;
    if result.is_err() {
        incoming.reader.cancel();
    }
    result
}

/// Streams a body announced above `STREAM_THRESHOLD` into R2 as it arrives (from its first
/// byte: no header, however far into the body, makes it wait in memory); buffers the rest.
async fn store(
    incoming: &mut Incoming,
    announced: Option<u64>,
    plan: &ObjectPlan,
    images: &ImageBucket,
    written: &RefCell<Written>,
) -> Result<StoredObject, TransferError> {
    let random = random_hex(16).map_err(TransferError::Store)?;
    let final_key = |info: ImageInfo| {
        let key = object_key(plan.item_id, &random, info.format);
        written.borrow_mut().final_key = Some(key.clone());
        key
    };

    match announced {
        Some(length) if length > STREAM_THRESHOLD => {
            let staging = format!("{STAGING_PREFIX}{random}");
            written.borrow_mut().staging = Some(staging.clone());
            let (sink, put) = images.put_stream(&staging, length).map_err(TransferError::Store)?;
            let (put, proven) = join(put, pump(incoming, length, sink)).await;
            let proven = proven?;
            put.map_err(TransferError::Store)?;
            let image = incoming.accept(proven).await?;
            let key = final_key(image.info);
            let started = now_ms();
            images
                .copy(&staging, &key, image.info.format.content_type(), object_metadata(plan, &image))
                .await
                .map_err(TransferError::Store)?;
            Ok(StoredObject { key, image, streamed: true, r2_ms: now_ms() - started })
        }
        _ => {
            let mut bytes = Vec::new();
            let mut spare = None;
            while let Some(piece) = incoming.next(&mut bytes, spare.take()).await? {
                spare = Some(piece);
            }
            if announced.is_some_and(|length| length != incoming.ingest.received()) {
                return Err(UrlFailure::Unreachable.into());
            }
            let proven = incoming.ingest.finish()?;
            let image = incoming.accept(proven).await?;
            let key = final_key(image.info);
            let started = now_ms();
            images
                .put(&key, image.info.format.content_type(), bytes, object_metadata(plan, &image))
                .await
                .map_err(TransferError::Store)?;
            Ok(StoredObject { key, image, streamed: false, r2_ms: now_ms() - started })
        }
    }
}

/// The origin body as it arrives: every piece is validated (one copy into wasm) and hashed
/// (natively) before anything else sees it.
struct Incoming {
    reader: PieceReader,
    ingest: Ingest,
    digest: Sha256Stream,
}

impl Incoming {
    /// The next piece, also appended to `copy` (what the validator reads); read into `reuse`
    /// if given (a piece no writer holds any more).
    async fn next(&mut self, copy: &mut Vec<u8>, reuse: Option<Uint8Array>) -> Result<Option<Uint8Array>, TransferError> {
        let Some(piece) = self.reader.next(reuse).await.map_err(|_| UrlFailure::Unreachable)? else { return Ok(None) };
        self.ingest.check_room(u64::from(piece.length()))?;
        let start = copy.len();
        copy.resize(start + piece.length() as usize, 0);
        piece.copy_to(&mut copy[start..]);
        self.ingest.push(&copy[start..])?;
        self.digest.write(&piece).await.map_err(TransferError::Store)?;
        Ok(Some(piece))
    }

    async fn accept(&mut self, proven: ProvenImage) -> Result<AcceptedImage, TransferError> {
        Ok(proven.with_digest(self.digest.finish().await.map_err(TransferError::Store)?))
    }
}

/// Feeds `sink` (an R2 put of exactly `length` bytes) the body. The last piece is written
/// only once the body has ended and the whole image is proven; on any failure the sink is
/// aborted, so the put never commits.
async fn pump(incoming: &mut Incoming, length: u64, mut sink: PieceWriter) -> Result<ProvenImage, TransferError> {
    let mut scratch = Vec::with_capacity(PIECE as usize);
    // The piece last handed to the sink, and one it has finished with (read into again).
    let (mut in_sink, mut spare) = (None, None);
    let pumped: Result<ProvenImage, TransferError> = async {
        loop {
            scratch.clear();
            let piece = incoming.next(&mut scratch, spare.take()).await?.ok_or(UrlFailure::Unreachable)?; // shorter than announced
            let received = incoming.ingest.received();
            if received > length {
                return Err(UrlFailure::Unreachable.into());
            }
            if received == length {
                scratch.clear();
                if !matches!(incoming.next(&mut scratch, spare.take()).await, Ok(None)) {
                    return Err(UrlFailure::Unreachable.into()); // longer than announced, whatever its bytes
                }
                let proven = incoming.ingest.finish()?;
                sink.write(&piece).await.map_err(TransferError::Store)?;
                return Ok(proven);
            }
            sink.write(&piece).await.map_err(TransferError::Store)?;
            // That write waited for the previous one to finish: its piece is free now.
            spare = in_sink.replace(piece);
        }
    }
    .await;
    match pumped {
        Ok(proven) => {
            sink.close().await.map_err(TransferError::Store)?;
            Ok(proven)
        }
        Err(e) => {
            sink.abort("image rejected").await;
            Err(e)
        }
    }
}

/// The custom metadata of API.md §4: the plan's fields plus what the bytes proved.
fn object_metadata(plan: &ObjectPlan, image: &AcceptedImage) -> HashMap<String, String> {
    let mut metadata = plan.metadata.clone();
    metadata.insert("width".into(), image.info.width.to_string());
    metadata.insert("height".into(), image.info.height.to_string());
    metadata.insert("sha256".into(), image.sha256_hex.clone());
    metadata
}
