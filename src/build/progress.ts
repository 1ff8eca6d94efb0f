/**
 * Reads the JSON progress stream of a Docker-compatible build or pull. Podman answers HTTP 200 even
 * when the build fails, so the error is only found in the stream.
 */
import type Docker from "dockerode";
import { Hop3Error } from "../util/errors.js";

interface ProgressEvent {
  stream?: string;
  status?: string;
  progress?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string };
}

export function followProgress(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  emit: (line: string) => void,
  what: string,
): Promise<{ imageId?: string }> {
  return new Promise((resolve, reject) => {
    let imageId: string | undefined;
    let failure: string | undefined;
    let partial = "";
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        if (partial.trim()) emit(partial.trimEnd());
        if (err) return reject(new Hop3Error(`${what} failed: ${err.message}`, "deployFailed"));
        if (failure) return reject(new Hop3Error(`${what} failed: ${failure}`, "deployFailed"));
        resolve({ imageId });
      },
      (ev: ProgressEvent) => {
        if (ev.error || ev.errorDetail) {
          failure = (ev.errorDetail?.message ?? ev.error ?? "unknown error").trim();
          emit(failure);
          return;
        }
        if (ev.aux?.ID) imageId = ev.aux.ID;
        if (ev.stream) {
          partial += ev.stream;
          const lines = partial.split("\n");
          partial = lines.pop() ?? "";
          for (const l of lines) if (l.trim()) emit(l.replace(/\r/g, ""));
        } else if (ev.status && !ev.progress) {
          emit(ev.status);
        }
      },
    );
  });
}
