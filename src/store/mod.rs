pub mod images;
pub mod list_items;
