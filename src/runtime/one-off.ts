/** One-off containers: the release phase, `hop run`, cron jobs. They run the release's image and config. */
import type Docker from "dockerode";
import type { MountPlan } from "../deploy/volumes.js";
import { lineSplitter } from "../util/line-splitter.js";
import { removeContainer } from "./containers.js";
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
}

/** Runs to completion, streaming output line by line; answers the exit code. The container is removed. */
export async function runOneOff(docker: Docker, spec: OneOffSpec): Promise<number> {
  const container = await createOneOffContainer(docker, {
    app: spec.app,
    release: spec.release,
    image: spec.image,
    cmd: spec.cmd,
    env: spec.env,
    ...(spec.mounts ? { mounts: spec.mounts } : {}),
    role: spec.purpose,
    source: spec.purpose,
  });
  const name = container.id;
  try {
    const out = lineSplitter(spec.onLine);
    const stream = await container.attach({ stream: true, stdout: true, stderr: true });
    docker.modem.demuxStream(stream, out, out);
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    // let the attach stream flush its last bytes
    await new Promise((r) => setTimeout(r, 200));
    out.flush();
    return StatusCode;
  } finally {
    await removeContainer(docker, name, 1).catch(() => {});
  }
}
