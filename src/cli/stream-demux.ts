/**
 * Non-TTY `hop run` output arrives as Podman's multiplexed stream: frames of an 8-byte header (stream id:
 * 1 stdout, 2 stderr; three zero bytes; big-endian payload size) and the payload. Chunks from the socket cut
 * frames anywhere, so the demuxer keeps what it has not yet seen whole.
 */
export type FrameSink = (stream: "stdout" | "stderr", data: Buffer) => void;

export class FrameDemuxer {
  private pending: Buffer = Buffer.alloc(0);
  /** Set when the input turned out not to be framed: everything is then passed through as stdout. */
  private raw = false;

  constructor(private readonly sink: FrameSink) {}

  push(chunk: Buffer): void {
    if (this.raw) {
      this.sink("stdout", chunk);
      return;
    }
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const kind = this.pending[0]!;
      if (kind > 2 || this.pending[1] !== 0 || this.pending[2] !== 0 || this.pending[3] !== 0) {
        // not a frame header: a server that sent raw output; do not lose it
        this.raw = true;
        const rest = this.pending;
        this.pending = Buffer.alloc(0);
        this.sink("stdout", rest);
        return;
      }
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) return;
      const payload = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      if (size > 0) this.sink(kind === 2 ? "stderr" : "stdout", payload);
    }
  }

  /** Bytes of an incomplete frame still held (non-zero at the end means the stream was cut). */
  get buffered(): number {
    return this.pending.length;
  }
}
