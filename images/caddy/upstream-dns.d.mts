// Types for upstream-dns.mjs, so that TypeScript tests can import it.
import type { Socket } from "node:dgram";

export interface SrvTarget {
  target: string;
  port: number;
}
export type Names = Record<string, SrvTarget[]>;
export interface Question {
  id: number;
  rd: boolean;
  name: string;
  qtype: number;
  qclass: number;
  end: number;
}
export function parseQuery(msg: Buffer): Question | undefined;
export function buildResponse(query: Buffer, names: Names, zone: string): Buffer | undefined;
export function parseRecords(text: string): Names | undefined;
export function recordsSource(file: string, log?: (line: string) => void): () => Names;
export function serve(opts: {
  host: string;
  port: number;
  file: string;
  zone: string;
  log?: (line: string) => void;
}): Promise<Socket>;
