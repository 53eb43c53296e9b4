//! Origin → validation → R2, under one deadline (`FETCH_TIMEOUT_MS`).
//!
//! With a `Content-Length` above `STREAM_THRESHOLD`, bytes flow through `Ingest` straight into
//! a `FixedLengthStream` put under a staging key: memory stays constant, and a chunk that fails
//! validation, the final chunk of an invalid image, or a body longer/shorter than announced
//! errors the stream before its last byte, so R2 never commits it. Once the whole image is
//! proven, R2 copies the staged object to its final key natively (no bytes through wasm) with
//! the full metadata, sha256 included, which is only known after the last byte.
//! Smaller or unannounced bodies are buffered (at most `MAX_IMAGE_BYTES`) and put once.
//! Every key written is deleted on failure, and the staging key always, so no object outlives
//! a failed transfer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::StreamExt;
use url::Url;
use worker::{AbortController, AbortSignal, ByteStream, Delay, FixedLengthStream};

use crate::api::failure::UrlFailure;
use crate::config::Limits;
use crate::edge::{now_ms, random_hex};
use crate::fetch::remote::{announced_length, open};
use crate::image::ImageInfo;
use crate::ingest::{AcceptedImage, Ingest};
use crate::list_item::object_key;
use crate::store::images::ImageBucket;

/// Bodies announced above this size are streamed into R2 instead of buffered.
pub const STREAM_THRESHOLD: u64 = 1024 * 1024;

/// Streamed bodies reach the validator and R2 in pieces of at least this size: every piece
/// crosses JS↔wasm with its own promise and handles, which costs more than the bytes do.
const STREAM_PIECE: usize = 256 * 1024;

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
    let mut response = open(url, limits, signal).await?;
    let announced = announced_length(&response);
    let mut ingest = Ingest::new(*limits);
    ingest.check_announced_length(announced)?;
    let mut body = response.stream().map_err(|_| UrlFailure::Unreachable)?;

    // Read until the header tells format and dimensions (or the body ends).
    let mut prefix = Vec::new();
    while ingest.info().is_none() {
        let Some(chunk) = body.next().await else { break };
        let chunk = chunk.map_err(|_| UrlFailure::Unreachable)?;
        ingest.push(&chunk)?;
        prefix.extend_from_slice(&chunk);
    }

    let random = random_hex(16).map_err(TransferError::Store)?;
    let final_key = |info: ImageInfo| {
        let key = object_key(plan.item_id, &random, info.format);
        written.borrow_mut().final_key = Some(key.clone());
        key
    };

    match (announced, ingest.info()) {
        (Some(length), Some(info)) if length > STREAM_THRESHOLD => {
            let staging = format!("{STAGING_PREFIX}{random}");
            written.borrow_mut().staging = Some(staging.clone());
            let gate = Rc::new(RefCell::new(Gate { ingest: Some(ingest), length, failure: None, accepted: None }));
            let stream = gated_stream(prefix, body, gate.clone());
            let content_type = info.format.content_type();
            let put = images.put(&staging, content_type, FixedLengthStream::wrap(stream, length), HashMap::new()).await;
            let image = {
                let mut gate = gate.borrow_mut();
                match (put, gate.failure, gate.accepted.take()) {
                    (Ok(()), None, Some(image)) => image,
                    (_, Some(failure), _) => return Err(failure.into()),
                    (Ok(()), None, None) => return Err(UrlFailure::Unreachable.into()),
                    (Err(e), None, _) => return Err(TransferError::Store(e)),
                }
            };
            let key = final_key(image.info);
            let started = now_ms();
            images.copy(&staging, &key, content_type, object_metadata(plan, &image)).await.map_err(TransferError::Store)?;
            Ok(StoredObject { key, image, streamed: true, r2_ms: now_ms() - started })
        }
        _ => {
            let mut bytes = prefix;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|_| UrlFailure::Unreachable)?;
                ingest.push(&chunk)?;
                bytes.extend_from_slice(&chunk);
            }
            if announced.is_some_and(|length| length != ingest.received()) {
                return Err(UrlFailure::Unreachable.into());
            }
            let image = ingest.finish()?;
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

/// The custom metadata of API.md §4: the plan's fields plus what the bytes proved.
fn object_metadata(plan: &ObjectPlan, image: &AcceptedImage) -> HashMap<String, String> {
    let mut metadata = plan.metadata.clone();
    metadata.insert("width".into(), image.info.width.to_string());
    metadata.insert("height".into(), image.info.height.to_string());
    metadata.insert("sha256".into(), image.sha256_hex.clone());
    metadata
}

/// Validation state shared between the stream feeding R2 and the code awaiting the put.
struct Gate {
    ingest: Option<Ingest>,
    length: u64,
    failure: Option<UrlFailure>,
    accepted: Option<AcceptedImage>,
}

impl Gate {
    /// Let `chunk` through only if the image is still valid; the last announced byte is let
    /// through only if the whole image is.
    fn admit(&mut self, chunk: &[u8], already_ingested: bool) -> Result<(), UrlFailure> {
        let ingest = self.ingest.as_mut().ok_or(UrlFailure::Unreachable)?;
        if !already_ingested {
            ingest.push(chunk)?;
        }
        let received = ingest.received();
        if received > self.length {
            return Err(UrlFailure::Unreachable);
        }
        if received == self.length {
            let ingest = self.ingest.take().ok_or(UrlFailure::Unreachable)?;
            self.accepted = Some(ingest.finish()?);
        }
        Ok(())
    }

    fn check(&mut self, chunk: &[u8], already_ingested: bool) -> worker::Result<()> {
        self.admit(chunk, already_ingested).map_err(|failure| {
            self.failure = Some(failure);
            worker::Error::RustError(format!("image rejected: {}", failure.reason()))
        })
    }
}

/// Joins consecutive chunks until `target` bytes (or the end); an error ends the stream.
fn coalesce<S>(inner: S, target: usize) -> impl futures_util::Stream<Item = worker::Result<Vec<u8>>>
where
    S: futures_util::Stream<Item = worker::Result<Vec<u8>>> + Unpin,
{
    futures_util::stream::unfold(Some(inner), move |inner| async move {
        let mut inner = inner?;
        let mut piece = Vec::new();
        loop {
            match inner.next().await {
                Some(Ok(chunk)) if piece.is_empty() => piece = chunk,
                Some(Ok(chunk)) => piece.extend_from_slice(&chunk),
                Some(Err(e)) => return Some((Err(e), None)),
                None if piece.is_empty() => return None,
                None => return Some((Ok(piece), None)),
            }
            if piece.len() >= target {
                return Some((Ok(piece), Some(inner)));
            }
        }
    })
}

fn gated_stream(
    prefix: Vec<u8>,
    body: ByteStream,
    gate: Rc<RefCell<Gate>>,
) -> impl futures_util::Stream<Item = worker::Result<Vec<u8>>> + 'static {
    let first_gate = gate.clone();
    let end_gate = gate.clone();
    let first = futures_util::stream::once(async move {
        first_gate.borrow_mut().check(&prefix, true)?;
        Ok(prefix)
    });
    let rest = coalesce(body, STREAM_PIECE).map(move |chunk| {
        let chunk = chunk.map_err(|e| {
            gate.borrow_mut().failure = Some(UrlFailure::Unreachable);
            e
        })?;
        gate.borrow_mut().check(&chunk, false)?;
        Ok(chunk)
    });
    // A body that ends cleanly but short of its Content-Length: error the stream ourselves,
    // so the put fails as the origin's fault rather than as a storage failure.
    let end = futures_util::stream::once(async move {
        let mut gate = end_gate.borrow_mut();
        if gate.accepted.is_some() || gate.failure.is_some() {
            return None;
        }
        gate.failure = Some(UrlFailure::Unreachable);
        Some(Err(worker::Error::RustError("origin body ended before its Content-Length".into())))
    })
    .filter_map(futures_util::future::ready);
    first.chain(rest).chain(end)
}
