// A put's body handed over piece by piece: a JS ReadableStream with workerd's `expectedLength`
// (the length R2 needs up front). The reader is given each piece as it is, where a
// FixedLengthStream's writer would queue it first (in workerd 2026-04-26 that queue cost a copy
// per piece). A piece is free again when the reader asks for the next one; at most one waits.
export class PieceStream {
  constructor(length) {
    this.length = length;
    this.sent = 0;
    this.taken = null; // the last piece's write: { resolve, reject }
    this.failed = false;
    this.failure = undefined;
    this.readable = new ReadableStream({
      expectedLength: length,
      start: (controller) => { this.controller = controller; },
      pull: () => this.settle(),
      cancel: (reason) => this.fail(reason ?? new Error("the reader cancelled the stream")),
    }, { highWaterMark: 0 });
  }
  // A put can fail without cancelling the stream or reading again: its outcome ends any write
  // still waiting, instead of leaving it pending forever.
  watch(put) {
    put.then(() => this.fail(new Error("the reader finished")), (error) => this.fail(error));
  }
  settle() {
    const taken = this.taken;
    this.taken = null;
    taken?.resolve();
  }
  fail(error) {
    if (!this.failed) [this.failed, this.failure] = [true, error];
    const taken = this.taken;
    this.taken = null;
    taken?.reject(this.failure);
  }
  write(piece) {
    if (!this.failed && this.sent + piece.byteLength > this.length) this.abort(`more than the ${this.length} bytes announced`);
    if (this.failed) return Promise.reject(this.failure);
    try {
      this.controller.enqueue(piece);
    } catch (error) {
      this.fail(error);
      return Promise.reject(this.failure);
    }
    this.sent += piece.byteLength;
    return new Promise((resolve, reject) => { this.taken = { resolve, reject }; });
  }
  // Like a FixedLengthStream, a short stream errors instead of ending (a put would wait on it).
  close() {
    if (!this.failed && this.sent !== this.length) this.abort(`${this.sent} of the ${this.length} bytes announced`);
    if (this.failed) throw this.failure;
    this.controller.close();
    this.settle();
  }
  abort(reason) {
    const error = new Error(reason);
    try { this.controller.error(error); } catch {}
    this.fail(error);
  }
}
