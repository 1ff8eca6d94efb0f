/**
 * Files other programs read while Hop3 rewrites them (Caddy and Traefik configuration, systemd units):
 * written to a temporary file beside them and renamed, so a reader sees the old file or the new one, never half.
 */
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";

export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  // pid and a random part: two writes of one file in one process never share a temporary file
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
  const fd = openSync(tmp, "w", mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** writeFileAtomic, only when the content differs; answers whether it wrote (systemd then needs a reload). */
export function writeFileIfChanged(path: string, content: string, mode: number): boolean {
  if (existsSync(path) && readFileSync(path, "utf8") === content) return false;
  writeFileAtomic(path, content, mode);
  return true;
}
