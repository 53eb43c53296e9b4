pub mod demo;
pub mod images;
pub mod upload_image;

use worker::Response;

use crate::api::envelope::Envelope;

/// What a route answers: the platform envelope, or raw bytes (stored images, preflight, the demo page).
pub enum Reply {
    Envelope(Envelope),
    Raw(Response),
}
