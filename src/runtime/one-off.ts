/** One-off containers: the release phase, `hop run`, cron jobs. They run the release's image and config. */
import type Docker from "dockerode";
import { abortable, deadline } from "../deploy/cancel.js";
import type { MountPlan } from "../deploy/volumes.js";
import { lineSplitter } from "../util/line-splitter.js";
import { removeContainer } from "./containers.js";
import type { ResourceLimits } from "./limits.js";
import { createOneOffContainer } from "./run-session.js";

export interface OneOffSpec {
  app: string;
  release: number;
  image: string;
  cmd: string[];
  env: Record<string, string>;
  purpose: "release" | "run" | "cron";
  onLine: (line: string) => void;
  mounts?: MountPlan[];
  limits?: ResourceLimits;
  /** The container is killed after this long, and the run fails with a message saying so. */
  timeoutSeconds?: number;
  /** Aborts the run (deploy:cancel): the container is killed and removed, the run fails with the reason. */
  signal?: AbortSignal;
}

/** Runs to completion, streaming output line by line; answers the exit code. The container is removed. */
export async function runOneOff(docker: Docker, spec: OneOffSpec): Promise<number> {
  const signal =
    spec.timeoutSeconds !== undefined
      ? deadline(spec.timeoutSeconds, `the ${spec.purpose} command`, spec.signal)
      : spec.signal;
  const container = await createOneOffContainer(docker, {
    app: spec.app,
    release: spec.release,
    image: spec.image,
    cmd: spec.cmd,
    env: spec.env,
    ...(spec.mounts ? { mounts: spec.mounts } : {}),
    ...(spec.limits ? { limits: spec.limits } : {}),
    role: spec.purpose,
    source: spec.purpose,
  });
  const name = container.id;
  try {
    const out = lineSplitter(spec.onLine);
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    (stream as NodeJS.ReadableStream).on("error", () => {}); // ends with the container, whatever happens
    docker.modem.demuxStream(stream, out, out);
    await container.start();
    // on timeout or cancel: fail now; the finally below kills and removes the container
    const { StatusCode } = (await abortable(container.wait(), signal)) as { StatusCode: number };
    // let the attach stream flush its last bytes
    await new Promise((r) => setTimeout(r, 200));
    out.flush();
    return StatusCode;
  } finally {
    await removeContainer(docker, name, 1).catch(() => {});
  }
}
