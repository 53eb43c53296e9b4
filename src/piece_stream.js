// A put's body handed over piece by piece: a JS ReadableStream with workerd's `expectedLength`
// (the length R2 needs up front). The reader takes each piece as it is, so the bytes are copied
// once, into the put, instead of being queued in a FixedLengthStream first. A piece is free
// again when the reader asks for the next one; at most one waits for it.
export class PieceStream {
  constructor(length) {
    this.length = length;
    this.sent = 0;
    this.taken = null;
    this.failure = null;
    this.readable = new ReadableStream({
      expectedLength: length,
      start: (controller) => { this.controller = controller; },
      pull: () => this.release(),
      cancel: (reason) => this.fail(reason ?? new Error("the reader cancelled")),
    }, { highWaterMark: 0 });
  }
  release(error) {
    const taken = this.taken;
    this.taken = null;
    if (taken) error ? taken.reject(error) : taken.resolve();
  }
  fail(error) {
    this.failure ??= error;
    this.release(this.failure);
  }
  write(piece) {
    if (this.sent + piece.byteLength > this.length) this.abort(`more than the ${this.length} bytes announced`);
    if (this.failure) return Promise.reject(this.failure);
    this.sent += piece.byteLength;
    this.controller.enqueue(piece);
    return new Promise((resolve, reject) => { this.taken = { resolve, reject }; });
  }
  // Like a FixedLengthStream, a short stream errors instead of ending (a put would wait on it).
  close() {
    if (this.sent !== this.length) this.abort(`${this.sent} of the ${this.length} bytes announced`);
    if (this.failure) throw this.failure;
    this.controller.close();
    this.release();
  }
  abort(reason) {
    const error = new Error(reason);
    try { this.controller.error(error); } catch {}
    this.fail(error);
  }
}
