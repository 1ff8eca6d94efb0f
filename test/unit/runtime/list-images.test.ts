/**
 * listImagesByReference: Podman 4.3 fails a whole image list with "image not known" when another image is
 * removed while it lists (seen in a test run: one app's destroy failed while another app's was removing its
 * images). That failure is retried; any other is not.
 */
import type Docker from "dockerode";
import { describe, expect, it } from "vitest";
import { listImagesByReference } from "../../../src/runtime/containers.js";

const raced = new Error(
  '(HTTP code 500) server error - reading image "5dfb": locating image with ID "5dfb": image not known',
);

function podman(failures: Error[]) {
  const calls: unknown[] = [];
  const docker = {
    async listImages(opts?: unknown) {
      calls.push(opts);
      const next = failures.shift();
      if (next) throw next;
      return [{ Id: "a", RepoTags: ["localhost/hop3/shop:r1"] }] as Docker.ImageInfo[];
    },
  };
  return { docker: docker as Pick<Docker, "listImages">, calls };
}

describe("listImagesByReference", () => {
  it("lists by reference, and lists again when an image vanished during the list", async () => {
    const { docker, calls } = podman([raced, raced]);
    const images = await listImagesByReference(docker, "localhost/hop3/shop:*");
    expect(images.map((i) => i.RepoTags)).toEqual([["localhost/hop3/shop:r1"]]);
    expect(calls).toEqual(Array(3).fill({ filters: { reference: ["localhost/hop3/shop:*"] } }));
  });

  it("gives up after its tries, and never retries another failure", async () => {
    await expect(listImagesByReference(podman([raced, raced]).docker, "x:*", 2)).rejects.toThrow(
      /image not known/,
    );
    const other = podman([new Error("(HTTP code 500) server error - no space left on device")]);
    await expect(listImagesByReference(other.docker, "x:*")).rejects.toThrow(/no space/);
    expect(other.calls).toHaveLength(1);
  });
});
