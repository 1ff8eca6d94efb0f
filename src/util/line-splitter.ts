/** A writable end that calls `onLine` for every complete line written to it (CR before LF dropped). */
import { PassThrough } from "node:stream";

export type LineSplitter = PassThrough & {
  /** Hands over a last line that had no newline (call once the writer is done). */
  flush(): void;
};

export function lineSplitter(onLine: (line: string) => void): LineSplitter {
  const pt = new PassThrough() as LineSplitter;
  let partial = "";
  pt.on("data", (d: Buffer) => {
    partial += d.toString("utf8");
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const p of parts) onLine(p.replace(/\r$/, ""));
  });
  pt.flush = () => {
    if (partial) onLine(partial);
    partial = "";
  };
  pt.on("end", () => pt.flush());
  return pt;
}
