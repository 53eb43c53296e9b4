pub mod kv_store;
pub mod session;
