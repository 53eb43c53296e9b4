//! The list item as D1 stores it and as the API shows it (view `default`, API.md §4). Pure.

use serde_json::{json, Map, Value};

use crate::image::ImageFormat;
use crate::ingest::AcceptedImage;

pub type Row = Map<String, Value>;

/// `list_items/<id>/<random>.png|.jpg`: random so that a new upload never overwrites the
/// object the record still points to.
pub fn object_key(item_id: i64, random_hex: &str, format: ImageFormat) -> String {
    format!("list_items/{item_id}/{random_hex}.{}", format.extension())
}

/// Public path where the worker serves a stored object.
pub fn image_path(key: &str) -> String {
    format!("/images/{key}")
}

/// The image fields written to the row when an upload is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFields {
    pub url: String,
    pub key: String,
    pub content_type: &'static str,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    pub sha256: String,
    /// The fetched URL (`image_source_url`); `None` for a direct upload.
    pub source_url: Option<String>,
}

impl ImageFields {
    pub fn new(image: &AcceptedImage, key: String, url: String, source_url: Option<String>) -> Self {
        ImageFields {
            url,
            key,
            source_url,
            content_type: image.info.format.content_type(),
            width: image.info.width,
            height: image.info.height,
            bytes: image.bytes,
            sha256: image.sha256_hex.clone(),
        }
    }
}

pub fn image_key(row: &Row) -> Option<&str> {
    row.get("image_key").and_then(Value::as_str)
}

fn flag(value: Option<&Value>) -> Value {
    match value {
        Some(Value::Number(n)) => Value::Bool(n.as_i64().unwrap_or(0) != 0),
        Some(Value::Bool(b)) => Value::Bool(*b),
        _ => Value::Null,
    }
}

/// The `default` view of a row: the item's columns, booleans as booleans, image fields nested.
pub fn item_view(row: &Row) -> Value {
    let field = |name: &str| row.get(name).cloned().unwrap_or(Value::Null);
    let image = match image_key(row) {
        Some(key) => json!({
            "key": key,
            "content_type": field("image_content_type"),
            "width": field("image_width"),
            "height": field("image_height"),
            "bytes": field("image_bytes"),
            "sha256": field("image_sha256"),
        }),
        None => Value::Null,
    };
    json!({
        "id": field("id"),
        "key": field("key"),
        "slug": field("slug"),
        "name": field("name"),
        "value": field("value"),
        "description": field("description"),
        "notes": field("notes"),
        "active": flag(row.get("active")),
        "default": flag(row.get("default")),
        "external_id": field("external_id"),
        "item_type": field("item_type"),
        "item_id": field("item_id"),
        "image_url": field("image_url"),
        "image": image,
        "created_at": field("created_at"),
        "updated_at": field("updated_at"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(object_key(12, "ab", ImageFormat::Png), "list_items/12/ab.png");
        assert_eq!(object_key(12, "ab", ImageFormat::Jpeg), "list_items/12/ab.jpg");
        assert_eq!(image_path("list_items/1/x.png"), "/images/list_items/1/x.png");
    }

    #[test]
    fn view_before_and_after_upload() {
        let mut row: Row = serde_json::from_value(json!({
            "id": 3, "key": "k", "slug": "s", "name": "n", "active": 1, "default": 0,
            "image_key": null, "created_at": "2026-11-28T00:00:00Z"
        }))
        .unwrap();
        let view = item_view(&row);
        assert_eq!(view["image"], Value::Null);
        assert_eq!(view["active"], true);
        assert_eq!(view["default"], false);
        assert_eq!(view["notes"], Value::Null);

        row.insert("image_key".into(), json!("list_items/3/a.png"));
        row.insert("image_width".into(), json!(64));
        let view = item_view(&row);
        assert_eq!(view["image"]["key"], "list_items/3/a.png");
        assert_eq!(view["image"]["width"], 64);
        assert_eq!(view.as_object().unwrap().len(), 16);
    }
}
