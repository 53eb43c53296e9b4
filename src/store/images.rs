//! R2 adapter for stored images (API.md §4, §6).

use std::collections::HashMap;
use std::future::Future;

use worker::js_sys::BigInt;
use worker::worker_sys::FixedLengthStream;
use worker::{Bucket, Data, HttpMetadata, Object, ResponseBody};

use crate::streams::{describe, PieceWriter};

pub struct ImageBucket(pub Bucket);

impl ImageBucket {
    /// `body` is bytes or a `FixedLengthStream`: a stream that errors before its last byte
    /// leaves no object behind.
    pub async fn put(&self, key: &str, content_type: &str, body: impl Into<Data>, metadata: HashMap<String, String>) -> Result<(), String> {
        self.0
            .put(key, body)
            .http_metadata(HttpMetadata { content_type: Some(content_type.to_string()), ..Default::default() })
            .custom_metadata(metadata)
            .execute()
            .await
            .map(|_| ())
            .map_err(|e| format!("R2 put {key} failed: {e}"))
    }

    /// A put of exactly `length` bytes of not yet known type, written through the returned
    /// writer as they arrive. Aborting the writer, or closing it short of `length`, fails the
    /// put: nothing commits.
    pub fn put_stream<'a>(&'a self, key: &'a str, length: u64) -> Result<(PieceWriter, impl Future<Output = Result<(), String>> + 'a), String> {
        let stream = FixedLengthStream::new_big_int(BigInt::from(length)).map_err(|e| format!("FixedLengthStream({length}): {}", describe(e)))?;
        let writer = PieceWriter::new(&stream.writable())?;
        Ok((writer, self.put(key, "application/octet-stream", stream.readable(), HashMap::new())))
    }

    /// Copies `from` to `to` with new metadata. The bytes go from R2 to R2 as a runtime
    /// stream, never through wasm.
    pub async fn copy(&self, from: &str, to: &str, content_type: &str, metadata: HashMap<String, String>) -> Result<(), String> {
        let object = self.get(from).await?.ok_or_else(|| format!("R2 copy: {from} is gone"))?;
        let body = object.body().ok_or_else(|| format!("R2 copy: {from} has no body"))?;
        match body.response_body().map_err(|e| format!("R2 copy: reading {from} failed: {e}"))? {
            ResponseBody::Stream(stream) => self.put(to, content_type, stream, metadata).await,
            _ => Err(format!("R2 copy: {from} did not yield a stream")),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        self.0.delete(key).await.map_err(|e| format!("R2 delete {key} failed: {e}"))
    }

    pub async fn get(&self, key: &str) -> Result<Option<Object>, String> {
        self.0.get(key).execute().await.map_err(|e| format!("R2 get {key} failed: {e}"))
    }

    pub async fn head(&self, key: &str) -> Result<Option<Object>, String> {
        self.0.head(key).await.map_err(|e| format!("R2 head {key} failed: {e}"))
    }
}
