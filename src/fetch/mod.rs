pub mod destination;
pub mod remote;
