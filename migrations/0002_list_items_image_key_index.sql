-- The scheduled sweep asks, per page of the bucket listing, which keys some list item's
-- image_key references (API.md §8): without an index each lookup scans the whole table.
CREATE INDEX IF NOT EXISTS list_items_image_key ON list_items (image_key);
