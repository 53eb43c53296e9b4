//! The hourly sweep of orphaned images (API.md §8): `plan` decides, `walk` runs one pass over
//! a storage trait, `cloudflare` is that storage on R2, D1 and KV.

mod cloudflare;
pub mod plan;
pub mod walk;

pub use cloudflare::sweep;
