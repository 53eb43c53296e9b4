-- Where the current image was fetched from (API.md §4), after the runtime's URL
-- normalization; null for a direct upload (§7). Kept out of the item's view.
ALTER TABLE list_items ADD COLUMN image_source_url TEXT;
