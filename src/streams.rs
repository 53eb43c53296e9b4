//! Runtime stream glue that `worker` does not wrap: a BYOB reader that fills large pieces
//! (workerd's `readAtLeast`) and a stream of known length fed with JS byte arrays (workerd's
//! `expectedLength`).
//!
//! Bytes stay in JS arrays on their way from the origin to R2; wasm gets one copy of each
//! piece, a slice at a time, to validate and hash. Few, large pieces keep the per-piece
//! promise and handle traffic small.

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::ReadableStream;

#[wasm_bindgen]
extern "C" {
    type ByobStream;
    #[wasm_bindgen(method, catch, js_name = getReader)]
    fn get_reader(this: &ByobStream, options: &Object) -> Result<ByobReader, JsValue>;

    type ByobReader;
    #[wasm_bindgen(method, js_name = readAtLeast)]
    fn read_at_least(this: &ByobReader, min_bytes: u32, view: &Uint8Array) -> Promise;
    #[wasm_bindgen(method)]
    fn cancel(this: &ByobReader) -> Promise;
}

/// Reads a byte stream in pieces of `piece` bytes (the last one shorter).
pub struct PieceReader {
    reader: ByobReader,
    piece: u32,
    /// Bytes `is_empty` read ahead, handed out as the next piece.
    ahead: Option<Uint8Array>,
}

impl PieceReader {
    pub fn new(stream: &ReadableStream, piece: u32) -> Result<Self, String> {
        let options = Object::new();
        Reflect::set(&options, &"mode".into(), &"byob".into()).map_err(describe)?;
        let reader = stream.unchecked_ref::<ByobStream>().get_reader(&options).map_err(describe)?;
        Ok(PieceReader { reader, piece, ahead: None })
    }

    /// Whether the stream ends before its first byte: waits for that byte, which becomes the
    /// start of the next piece (a short one: for bodies of unknown length only, whose pieces
    /// may be any size).
    pub async fn is_empty(&mut self) -> Result<bool, String> {
        if self.ahead.is_none() {
            self.ahead = self.read(1, Uint8Array::new_with_length(self.piece)).await?;
        }
        Ok(self.ahead.is_none())
    }

    /// Reads into `view` (filling it unless the stream ends first): pieces land where the
    /// caller wants them, e.g. at the end of a part being assembled. The view's buffer is
    /// transferred: the returned piece is the way to its bytes afterwards.
    pub async fn next_into(&mut self, view: Uint8Array) -> Result<Option<Uint8Array>, String> {
        match self.ahead.take() {
            Some(piece) => Ok(Some(piece)),
            None => self.read(view.length(), view).await,
        }
    }

    /// Reads at least `min` bytes into `view` unless the stream ends first.
    async fn read(&mut self, min: u32, view: Uint8Array) -> Result<Option<Uint8Array>, String> {
        let mut view = Some(view);
        loop {
            let target = view.take().ok_or("a read returned no buffer to read into again")?;
            let wanted = target.length();
            let result = JsFuture::from(self.reader.read_at_least(min, &target)).await.map_err(describe)?;
            let value = Reflect::get(&result, &"value".into()).map_err(describe)?;
            let done = Reflect::get(&result, &"done".into()).map_err(describe)?.is_truthy();
            match value.dyn_into::<Uint8Array>() {
                Ok(piece) if piece.length() > 0 => return Ok(Some(piece)),
                _ if done => return Ok(None),
                // An empty read hands the (transferred) buffer back: read into it again.
                Ok(empty) => view = Some(Uint8Array::new_with_byte_offset_and_length(&empty.buffer(), empty.byte_offset(), wanted)),
                Err(_) => return Err("a read returned no bytes".into()),
            }
        }
    }

    /// Stops the origin download (the result is irrelevant: the transfer has already failed).
    pub fn cancel(&self) {
        let _ = self.reader.cancel();
    }

    /// A handle that stops the stream from elsewhere (a deadline) while a read is pending.
    pub fn stopper(&self) -> PieceReader {
        PieceReader { reader: self.reader.clone().unchecked_into(), piece: self.piece, ahead: None }
    }
}

#[wasm_bindgen(module = "/src/piece_stream.js")]
extern "C" {
    type PieceStream;
    #[wasm_bindgen(constructor)]
    fn new(length: f64) -> PieceStream;
    #[wasm_bindgen(method, getter)]
    fn readable(this: &PieceStream) -> ReadableStream;
    #[wasm_bindgen(method)]
    fn watch(this: &PieceStream, put: &Promise);
    #[wasm_bindgen(method, catch)]
    fn write(this: &PieceStream, piece: &Uint8Array) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn close(this: &PieceStream) -> Result<(), JsValue>;
    #[wasm_bindgen(method)]
    fn abort(this: &PieceStream, reason: &str);
}

/// Feeds JS byte arrays to the reader of a stream of exactly `length` bytes (an R2 put); each
/// write waits until the reader has taken the piece before, so at most one piece per stream
/// is waiting (constant memory).
pub struct PieceWriter {
    stream: PieceStream,
    in_flight: Option<JsFuture>,
}

impl PieceWriter {
    pub fn new(length: u64) -> Self {
        // An f64 holds every length up to 2^53, far past any image cap.
        PieceWriter { stream: PieceStream::new(length as f64), in_flight: None }
    }

    /// What the reader reads: a stream of known length, as R2's put requires.
    pub fn readable(&self) -> ReadableStream {
        self.stream.readable()
    }

    /// Ends any write still waiting when `put`, the reader, settles: a put that fails without
    /// cancelling the stream would otherwise leave it waiting forever.
    pub fn watch(&self, put: &Promise) {
        self.stream.watch(put);
    }

    /// Hands `piece` over once the previous one is taken: the previous piece is free to reuse
    /// when this returns.
    pub async fn write(&mut self, piece: &Uint8Array) -> Result<(), String> {
        self.settle().await?;
        self.in_flight = Some(JsFuture::from(self.stream.write(piece).map_err(describe)?));
        Ok(())
    }

    async fn settle(&mut self) -> Result<(), String> {
        match self.in_flight.take() {
            Some(write) => write.await.map(|_| ()).map_err(describe),
            None => Ok(()),
        }
    }

    /// Ends the stream after the pieces written; fails (and errors the stream) unless they
    /// came to exactly the length announced.
    pub fn close(&mut self) -> Result<(), String> {
        self.in_flight = None;
        self.stream.close().map_err(describe)
    }

    /// Errors the stream, so whatever reads it (an R2 put) fails instead of committing.
    pub fn abort(&mut self, reason: &str) {
        self.in_flight = None;
        self.stream.abort(reason);
    }
}

/// A thrown JS value as text for the log.
pub fn describe(error: JsValue) -> String {
    error.as_string().or_else(|| error.dyn_ref::<js_sys::Error>().map(|e| e.to_string().into())).unwrap_or_else(|| format!("{error:?}"))
}
