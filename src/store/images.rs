//! R2 adapter for stored images (API.md §4, §6).
//!
//! Writes take JS byte arrays as they are: the image's bytes never pass through wasm on their
//! way to R2 (the `worker` crate's `Data::Bytes` would copy them into and out of wasm memory).

use futures_channel::oneshot;
use js_sys::{Array, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::spawn_local;
use worker::{Bucket, Conditional, Object as R2Object};

use crate::bindings::{object, settle};
use crate::commit::{ObjectStore, ObjectWrite};
use crate::streams::PieceWriter;

#[wasm_bindgen]
extern "C" {
    /// The bucket binding, seen through the calls the write path makes.
    type R2Writes;
    #[wasm_bindgen(method, catch)]
    fn put(this: &R2Writes, key: &str, value: &JsValue, options: &Object) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = createMultipartUpload)]
    fn create_multipart_upload(this: &R2Writes, key: &str, options: &Object) -> Result<Promise, JsValue>;

    /// An R2 multipart upload in progress.
    pub type R2Upload;
    #[wasm_bindgen(method, catch, js_name = uploadPart)]
    fn upload_part(this: &R2Upload, number: u16, value: &Uint8Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn complete(this: &R2Upload, parts: &Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn abort(this: &R2Upload) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, getter, js_name = uploadId)]
    fn upload_id(this: &R2Upload) -> String;
}

#[derive(Clone)]
pub struct ImageBucket(pub Bucket);

/// What a new object is stored as: its key, `Content-Type` (from the signature bytes) and
/// custom metadata (what is known when the write starts).
#[derive(Clone)]
pub struct ObjectSpec {
    pub key: String,
    pub content_type: &'static str,
    /// Name/value pairs (a `Vec`, not a `HashMap`: hashing would link ~10 KB into the wasm).
    pub metadata: Vec<(&'static str, String)>,
}

impl ObjectSpec {
    fn options(&self) -> Result<Object, String> {
        let custom: Vec<(&str, JsValue)> = self.metadata.iter().map(|(name, value)| (*name, JsValue::from_str(value))).collect();
        object(&[
            ("httpMetadata", object(&[("contentType", self.content_type.into())])?.into()),
            ("customMetadata", object(&custom)?.into()),
        ])
    }
}

impl ImageBucket {
    fn writes(&self) -> &R2Writes {
        self.0.as_ref().unchecked_ref()
    }

    /// An object whose bytes are all here: one put, made when the write is closed.
    pub fn whole(&self, spec: ObjectSpec, bytes: Uint8Array) -> ImageWrite {
        ImageWrite::Whole { bucket: self.clone(), spec, bytes }
    }

    /// A put of exactly `length` bytes, started now and fed through the returned write as
    /// the bytes arrive. It commits only when the last byte is written and the stream
    /// closed; an aborted or short stream fails it.
    pub fn streamed(&self, spec: &ObjectSpec, length: u64) -> Result<ImageWrite, String> {
        let sink = PieceWriter::new(length);
        let put = self.writes().put(&spec.key, &sink.readable(), &spec.options()?);
        if let Ok(put) = &put {
            sink.watch(put);
        }
        // The put runs on its own (it reads the stream as pieces are written), and its
        // outcome is collected when the write is closed or aborted.
        let (done, settled) = oneshot::channel();
        spawn_local(async move {
            let _ = done.send(settle(put).await.map(|_| ()));
        });
        Ok(ImageWrite::Streamed { sink, settled, last: None, key: spec.key.clone() })
    }

    /// A multipart upload: parts are uploaded as they fill, and nothing is visible until
    /// the write is closed (`complete`).
    pub async fn multipart(&self, spec: &ObjectSpec) -> Result<ImageWrite, String> {
        let upload = settle(self.writes().create_multipart_upload(&spec.key, &spec.options()?)).await?;
        Ok(ImageWrite::Multipart { upload: upload.unchecked_into(), parts: Array::new(), last: None, key: spec.key.clone() })
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        self.0.delete(key).await.map_err(|e| format!("R2 delete {key} failed: {e}"))
    }

    pub async fn get(&self, key: &str) -> Result<Option<R2Object>, String> {
        self.0.get(key).execute().await.map_err(|e| format!("R2 get {key} failed: {e}"))
    }

    /// The object, without its body when its etag is `etag` (R2 then reads no bytes).
    pub async fn get_unless_etag(&self, key: &str, etag: &str) -> Result<Option<R2Object>, String> {
        let condition = Conditional { etag_does_not_match: Some(etag.to_string()), ..Default::default() };
        self.0.get(key).only_if(condition).execute().await.map_err(|e| format!("R2 get {key} failed: {e}"))
    }

    pub async fn head(&self, key: &str) -> Result<Option<R2Object>, String> {
        self.0.head(key).await.map_err(|e| format!("R2 head {key} failed: {e}"))
    }
}

impl ObjectStore for ImageBucket {
    async fn delete(&self, key: &str) -> Result<(), String> {
        ImageBucket::delete(self, key).await
    }
}

/// The one write of a new object, from its first byte to `close` or `abort`.
pub enum ImageWrite {
    Whole { bucket: ImageBucket, spec: ObjectSpec, bytes: Uint8Array },
    /// The last piece is held back (`hold_last`) until the whole image is proven.
    Streamed { sink: PieceWriter, settled: oneshot::Receiver<Result<(), String>>, last: Option<Uint8Array>, key: String },
    /// Every part but the last is uploaded as it fills; the last one is uploaded on close.
    Multipart { upload: R2Upload, parts: Array, last: Option<Uint8Array>, key: String },
}

impl ImageWrite {
    /// Whether the bytes went to R2 as they arrived (for the log).
    pub fn streamed(&self) -> bool {
        !matches!(self, ImageWrite::Whole { .. })
    }

    /// Writes a piece that is not the last one. Returns once the piece may be reused.
    pub async fn write(&mut self, piece: &Uint8Array) -> Result<(), String> {
        match self {
            ImageWrite::Streamed { sink, .. } => sink.write(piece).await,
            ImageWrite::Multipart { upload, parts, .. } => {
                let number = parts.length() + 1;
                let number = u16::try_from(number).map_err(|_| format!("part {number} is past R2's 10,000 parts"))?;
                let part = settle(upload.upload_part(number, piece)).await?;
                parts.push(&part);
                Ok(())
            }
            ImageWrite::Whole { .. } => Err("a whole object takes no further pieces".into()),
        }
    }

    /// Hands over the last piece, written only when the write is closed: until then the
    /// object cannot commit, whatever happens.
    pub fn hold_last(&mut self, piece: Uint8Array) {
        match self {
            ImageWrite::Streamed { last, .. } | ImageWrite::Multipart { last, .. } => *last = Some(piece),
            ImageWrite::Whole { .. } => {} // created with every byte
        }
    }

    /// Ends a write that will not be closed: nothing becomes visible, and nothing stays in
    /// progress (the stream errors its put, the multipart upload is aborted).
    pub async fn abort(&mut self) {
        match self {
            ImageWrite::Whole { .. } => {}
            ImageWrite::Streamed { sink, settled, .. } => {
                sink.abort("image rejected");
                let _ = settled.await;
            }
            ImageWrite::Multipart { upload, key, .. } => {
                // Logged with its id: an upload left in progress (abort failed) costs storage
                // until R2 expires it, and the id is what an operator needs to end it.
                let aborted = settle(upload.abort()).await;
                let event = if aborted.is_ok() { "multipart-aborted" } else { "multipart-abort-failed" };
                let line = serde_json::json!({"event": event, "key": key, "upload_id": upload.upload_id(), "error": aborted.err()});
                worker::console_log!("{line}");
            }
        }
    }
}

impl ObjectWrite for ImageWrite {
    async fn close(&mut self) -> Result<(), String> {
        match self {
            ImageWrite::Whole { bucket, spec, bytes } => {
                settle(bucket.writes().put(&spec.key, bytes, &spec.options()?)).await.map(|_| ())
            }
            ImageWrite::Streamed { sink, settled, last, key } => {
                let written = match last.take() {
                    Some(piece) => sink.write(&piece).await,
                    None => Ok(()),
                };
                let closed = match written {
                    Ok(()) => sink.close(),
                    Err(e) => {
                        sink.abort("the last piece could not be written");
                        Err(e)
                    }
                };
                let put = settled.await.unwrap_or_else(|_| Err("the put was dropped".into()));
                closed.and(put).map_err(|e| format!("R2 put {key} failed: {e}"))
            }
            ImageWrite::Multipart { last, .. } => {
                let piece = last.take().ok_or("multipart upload closed without its last part")?;
                let closed = self.complete(piece).await;
                if closed.is_err() {
                    self.abort().await;
                }
                closed
            }
        }
    }
}

impl ImageWrite {
    async fn complete(&mut self, last: Uint8Array) -> Result<(), String> {
        self.write(&last).await?;
        let ImageWrite::Multipart { upload, parts, key, .. } = self else { return Err("not a multipart upload".into()) };
        settle(upload.complete(parts)).await.map(|_| ()).map_err(|e| format!("R2 multipart {key} failed: {e}"))
    }
}
