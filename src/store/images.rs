//! R2 adapter for stored images (API.md §4, §6).

use std::collections::HashMap;

use worker::{Bucket, HttpMetadata, Object};

use crate::list_item::ImageFields;

pub struct ImageBucket(pub Bucket);

impl ImageBucket {
    pub async fn put(&self, fields: &ImageFields, bytes: Vec<u8>, metadata: HashMap<String, String>) -> Result<(), String> {
        self.0
            .put(&fields.key, bytes)
            .http_metadata(HttpMetadata { content_type: Some(fields.content_type.to_string()), ..Default::default() })
            .custom_metadata(metadata)
            .execute()
            .await
            .map(|_| ())
            .map_err(|e| format!("R2 put {} failed: {e}", fields.key))
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
