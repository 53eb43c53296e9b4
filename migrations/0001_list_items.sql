-- List items: only id/key/slug/name are needed to create one; every other
-- column is nullable or defaulted (API.md §4).
CREATE TABLE IF NOT EXISTS list_items (
  id                 INTEGER PRIMARY KEY,
  key                TEXT,
  slug               TEXT,
  name               TEXT,
  value              TEXT,
  description        TEXT,
  notes              TEXT,
  active             INTEGER NOT NULL DEFAULT 1,
  "default"          INTEGER NOT NULL DEFAULT 0,
  external_id        TEXT,
  item_type          TEXT,
  item_id            INTEGER,
  image_url          TEXT,
  image_key          TEXT,
  image_content_type TEXT,
  image_width        INTEGER,
  image_height       INTEGER,
  image_bytes        INTEGER,
  image_sha256       TEXT,
  created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
