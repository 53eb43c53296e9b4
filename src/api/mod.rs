pub mod envelope;
pub mod failure;
pub mod log;
pub mod params;
pub mod status;
