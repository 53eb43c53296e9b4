//! D1 adapter for list items (API.md §4).

use wasm_bindgen::JsValue;

use crate::bindings::D1;
use crate::commit::ItemStore;
use crate::list_item::{ImageFields, Row};

pub struct ListItems(pub D1);

/// Ids are bound as text: D1 numbers are f64, and SQLite compares a text parameter with an
/// INTEGER column numerically, so every i64 id matches exactly.
fn id_arg(id: i64) -> JsValue {
    JsValue::from_str(&id.to_string())
}

impl ListItems {
    pub async fn find(&self, id: i64) -> Result<Option<Row>, String> {
        self.0.first("SELECT * FROM list_items WHERE id = ?1", &[id_arg(id)]).await.map_err(|e| format!("D1 select failed: {e}"))
    }

    /// Point the item at a new image, but only if it still points at `expected_key`: two
    /// concurrent uploads cannot both believe they replaced the same old object.
    /// `Ok(None)` when the row changed (or vanished) meanwhile.
    pub async fn replace_image(&self, id: i64, expected_key: Option<&str>, image: &ImageFields) -> Result<Option<Row>, String> {
        let expected = expected_key.map(JsValue::from_str).unwrap_or(JsValue::NULL);
        self.0
            .first(
                "UPDATE list_items SET image_url = ?1, image_key = ?2, image_content_type = ?3, \
                 image_width = ?4, image_height = ?5, image_bytes = ?6, image_sha256 = ?7, \
                 image_source_url = ?10, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') \
                 WHERE id = ?8 AND image_key IS ?9 RETURNING *",
                &[
                JsValue::from_str(&image.url),
                JsValue::from_str(&image.key),
                JsValue::from_str(image.content_type),
                JsValue::from_f64(f64::from(image.width)),
                JsValue::from_f64(f64::from(image.height)),
                JsValue::from_f64(image.bytes as f64),
                JsValue::from_str(&image.sha256),
                id_arg(id),
                expected,
                image.source_url.as_deref().map(JsValue::from_str).unwrap_or(JsValue::NULL),
                ],
            )
            .await
            .map_err(|e| format!("D1 update failed: {e}"))
    }
}

impl ItemStore for ListItems {
    async fn find(&self, id: i64) -> Result<Option<Row>, String> {
        ListItems::find(self, id).await
    }

    async fn replace_image(&self, id: i64, expected: Option<&str>, fields: &ImageFields) -> Result<Option<Row>, String> {
        ListItems::replace_image(self, id, expected, fields).await
    }
}
