pub mod kv_store;
pub mod session;
pub mod time;
