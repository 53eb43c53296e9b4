//! Origin → validation → R2, under one deadline (`FETCH_TIMEOUT_MS`).
//!
//! With a `Content-Length` above `STREAM_THRESHOLD`, bytes flow through `Ingest` straight into
//! a `FixedLengthStream` put: memory stays constant, and a chunk that fails validation, the
//! final chunk of an invalid image, or a body longer/shorter than announced errors the stream
//! before its last byte, so R2 never commits the object. Smaller or unannounced bodies are
//! buffered (at most `MAX_IMAGE_BYTES`) so the object's metadata can carry the sha256.
//! On every failure the key is deleted as well, so no object outlives a failed transfer.

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
use crate::edge::random_hex;
use crate::fetch::remote::{announced_length, open};
use crate::image::ImageInfo;
use crate::ingest::{AcceptedImage, Ingest};
use crate::list_item::object_key;
use crate::store::images::ImageBucket;

/// Bodies announced above this size are streamed into R2 instead of buffered.
pub const STREAM_THRESHOLD: u64 = 1024 * 1024;

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
}

pub async fn transfer(url: &Url, limits: &Limits, plan: &ObjectPlan, images: &ImageBucket) -> Result<StoredObject, TransferError> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let chosen_key = RefCell::new(None);
    let work = Box::pin(fetch_and_store(url, limits, plan, images, &signal, &chosen_key));
    let deadline = Delay::from(Duration::from_millis(limits.fetch_timeout_ms));
    let outcome = match select(work, deadline).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            // Cancel the origin request; its body errors, so a put in progress cannot commit.
            controller.abort();
            Err(TransferError::Url(UrlFailure::Timeout))
        }
    };
    if outcome.is_err() {
        if let Some(key) = chosen_key.borrow_mut().take() {
            if let Err(e) = images.delete(&key).await {
                worker::console_error!("{}", serde_json::json!({"event": "failed-transfer-cleanup", "key": key, "error": e}));
            }
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
    chosen_key: &RefCell<Option<String>>,
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

    let new_key = |info: ImageInfo| -> Result<String, TransferError> {
        let key = object_key(plan.item_id, &random_hex(16).map_err(TransferError::Store)?, info.format);
        *chosen_key.borrow_mut() = Some(key.clone());
        Ok(key)
    };

    match (announced, ingest.info()) {
        (Some(length), Some(info)) if length > STREAM_THRESHOLD => {
            let key = new_key(info)?;
            let mut metadata = plan.metadata.clone();
            add_dimensions(&mut metadata, info);
            let gate = Rc::new(RefCell::new(Gate { ingest: Some(ingest), length, failure: None, accepted: None }));
            let stream = gated_stream(prefix, body, gate.clone());
            let put = images.put(&key, info.format.content_type(), FixedLengthStream::wrap(stream, length), metadata).await;
            let mut gate = gate.borrow_mut();
            match (put, gate.failure, gate.accepted.take()) {
                (Ok(()), None, Some(image)) => Ok(StoredObject { key, image, streamed: true }),
                (_, Some(failure), _) => Err(failure.into()),
                (Ok(()), None, None) => Err(UrlFailure::Unreachable.into()),
                (Err(e), None, _) => Err(TransferError::Store(e)),
            }
        }
        _ => {
            let mut bytes = prefix;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|_| UrlFailure::Unreachable)?;
                ingest.push(&chunk)?;
                bytes.extend_from_slice(&chunk);
            }
            let image = ingest.finish()?;
            let key = new_key(image.info)?;
            let mut metadata = plan.metadata.clone();
            add_dimensions(&mut metadata, image.info);
            metadata.insert("sha256".into(), image.sha256_hex.clone());
            images
                .put(&key, image.info.format.content_type(), bytes, metadata)
                .await
                .map_err(TransferError::Store)?;
            Ok(StoredObject { key, image, streamed: false })
        }
    }
}

fn add_dimensions(metadata: &mut HashMap<String, String>, info: ImageInfo) {
    metadata.insert("width".into(), info.width.to_string());
    metadata.insert("height".into(), info.height.to_string());
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

fn gated_stream(
    prefix: Vec<u8>,
    body: ByteStream,
    gate: Rc<RefCell<Gate>>,
) -> impl futures_util::Stream<Item = worker::Result<Vec<u8>>> + 'static {
    let first_gate = gate.clone();
    let first = futures_util::stream::once(async move {
        first_gate.borrow_mut().check(&prefix, true)?;
        Ok(prefix)
    });
    let rest = body.map(move |chunk| {
        let chunk = chunk.map_err(|e| {
            gate.borrow_mut().failure = Some(UrlFailure::Unreachable);
            e
        })?;
        gate.borrow_mut().check(&chunk, false)?;
        Ok(chunk)
    });
    first.chain(rest)
}
