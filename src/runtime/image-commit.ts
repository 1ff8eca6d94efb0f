/**
 * An image made of a base image plus one tar, as one new layer: a container is created from the base (never
 * started), the tar is unpacked into it (owners and modes as the tar's headers say) and the container is
 * committed. Much cheaper than a `podman build` of COPY steps, which commits once per instruction and walks
 * the whole context for its cache key (docs/benchmarks.md, export).
 *
 * The image's configuration is the container's (User, WorkingDir, Env, Entrypoint, Cmd, Labels), passed as
 * JSON, so no label value is parsed as Containerfile syntax. Two things Podman adds to every container's
 * environment, `container=podman` and `TERM=xterm`, end up in the image; it sets both in every container
 * it runs anyway.
 */
import { randomBytes } from "node:crypto";
import type Docker from "dockerode";
import { Hop3Error } from "../util/errors.js";

export interface CommitSpec {
  /** The image the new layer goes on. */
  base: string;
  /** Prefix of the short-lived container's name (crash-cleanup.ts removes leftovers by name and `labels`). */
  namePrefix: string;
  /** The new layer: unpacked at / of the container. */
  tar: NodeJS.ReadableStream;
  config: {
    User?: string;
    WorkingDir?: string;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
  };
  /** The image's labels (added to the base's; a label is removed by giving it an empty value). */
  labels: Record<string, string>;
  /**
   * Labels the container carries while it exists, so that a crash leaves something findable, and that the
   * image must not keep: each is set to `""` in the image by a commit change (keys only, never values).
   */
  containerOnlyLabels?: Record<string, string>;
  /** `repo:tag` of the new image. */
  tag: string;
}

const SAFE_LABEL_KEY = /^[a-z0-9][a-z0-9._-]*$/;

/** Commits base + tar as `spec.tag`; returns the new image's id. The container is removed whatever happens. */
export async function commitLayer(docker: Docker, spec: CommitSpec): Promise<string> {
  const only = spec.containerOnlyLabels ?? {};
  for (const k of Object.keys(only)) {
    if (!SAFE_LABEL_KEY.test(k)) throw new Error(`label key ${JSON.stringify(k)} cannot be a commit change`);
  }
  const colon = spec.tag.lastIndexOf(":");
  if (colon <= spec.tag.lastIndexOf("/")) throw new Error(`${spec.tag}: a tag is required`);
  const container = await docker.createContainer({
    name: `${spec.namePrefix}-${randomBytes(3).toString("hex")}`,
    Image: spec.base,
    ...spec.config,
    Labels: { ...spec.labels, ...only },
    // never started: no network, no process; only its filesystem is used
    NetworkDisabled: true,
  });
  try {
    await container.putArchive(spec.tar, { path: "/" });
    const res = await new Promise<{ Id?: string; id?: string }>((resolve, reject) => {
      docker.modem.dial(
        {
          path: "/commit?",
          method: "POST",
          options: {
            _query: {
              container: container.id,
              repo: spec.tag.slice(0, colon),
              tag: spec.tag.slice(colon + 1),
              pause: false,
              changes: Object.keys(only).map((k) => `LABEL ${k}=""`),
            },
          },
          statusCodes: { 200: true, 201: true, 404: "no such container", 500: "server error" },
        },
        (err: Error | null, data: unknown) => (err ? reject(err) : resolve(data as { Id?: string })),
      );
    });
    const id = res.Id ?? res.id;
    if (!id) throw new Hop3Error(`commit of ${spec.tag} returned no image id`, "deployFailed");
    return id;
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}
