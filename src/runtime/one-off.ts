/** One-off containers: the release phase, `hop run`, cron jobs. They run the release's image and config. */
import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { lineSplitter } from "../util/line-splitter.js";
import { removeContainer } from "./containers.js";
import { appNetworkName, LABEL, oneOffContainerName } from "./labels.js";

export interface OneOffSpec {
  app: string;
  release: number;
  image: string;
  cmd: string[];
  env: Record<string, string>;
  purpose: "release" | "run" | "cron";
  onLine: (line: string) => void;
}

/** Runs to completion, streaming output line by line; answers the exit code. The container is removed. */
export async function runOneOff(docker: Docker, spec: OneOffSpec): Promise<number> {
  const name = oneOffContainerName(spec.app, spec.purpose, randomBytes(4).toString("hex"));
  const container = await docker.createContainer({
    name,
    Image: spec.image,
    Cmd: spec.cmd,
    Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    Labels: {
      [LABEL.app]: spec.app,
      [LABEL.release]: String(spec.release),
      [LABEL.role]: spec.purpose,
    },
    HostConfig: { NetworkMode: appNetworkName(spec.app), Init: true },
  });
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
