/**
 * Splitting output into lines, with a bound: a program that prints gigabytes without a newline must cost the
 * server at most `maxLine` characters, never a string that outgrows V8 (an uncaught RangeError killed the
 * server once). The overflow is dropped and the line ends with a marker saying how much was dropped.
 */
import { PassThrough } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/** Longest line kept whole (characters); build logs, release output and `hop logs` share it. */
export const MAX_LINE = 64 * 1024;

export const truncationMarker = (dropped: number) => ` [... line truncated by Hop3: ${dropped} more bytes]`;

/** Pure line accumulator: feed text, get back the complete lines (CR before LF dropped). */
export class LineBuffer {
  private partial = "";
  private dropped = 0;

  constructor(private readonly maxLine = MAX_LINE) {}

  push(text: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      const piece = nl < 0 ? text.slice(start) : text.slice(start, nl);
      this.append(piece);
      if (nl < 0) break;
      out.push(this.take());
      start = nl + 1;
    }
    return out;
  }

  /** The last line that had no newline, if any (call once the writer is done). */
  end(): string[] {
    if (!this.partial && !this.dropped) return [];
    return [this.take()];
  }

  private append(piece: string): void {
    if (this.dropped > 0) {
      this.dropped += Buffer.byteLength(piece);
      return;
    }
    const room = this.maxLine - this.partial.length;
    if (piece.length <= room) {
      this.partial += piece;
      return;
    }
    this.partial += piece.slice(0, room);
    this.dropped = Buffer.byteLength(piece.slice(room));
  }

  private take(): string {
    const line = this.partial.replace(/\r$/, "") + (this.dropped ? truncationMarker(this.dropped) : "");
    this.partial = "";
    this.dropped = 0;
    return line;
  }
}

export type LineSplitter = PassThrough & {
  /** Hands over a last line that had no newline (call once the writer is done). */
  flush(): void;
};

/** A writable end that calls `onLine` for every complete line written to it. */
export function lineSplitter(onLine: (line: string) => void, maxLine = MAX_LINE): LineSplitter {
  const pt = new PassThrough() as LineSplitter;
  // a multi-byte character split across two chunks stays one character
  const decoder = new StringDecoder("utf8");
  const lines = new LineBuffer(maxLine);
  pt.on("data", (d: Buffer) => {
    for (const l of lines.push(decoder.write(d))) onLine(l);
  });
  pt.flush = () => {
    for (const l of lines.push(decoder.end())) onLine(l);
    for (const l of lines.end()) onLine(l);
  };
  pt.on("end", () => pt.flush());
  // a broken source must not become an uncaught 'error' event
  pt.on("error", () => {});
  return pt;
}
