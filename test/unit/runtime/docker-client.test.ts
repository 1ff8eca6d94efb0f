import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import Docker from "../../../src/runtime/docker-client.js";

const require = createRequire(import.meta.url);
const fromModem = createRequire(createRequire(require.resolve("dockerode")).resolve("docker-modem"));
const fromDockerode = createRequire(require.resolve("dockerode"));

describe("dockerode with lazily loaded SSH and gRPC", () => {
  it("is dockerode: a unix-socket client as before", () => {
    const docker = new Docker({ socketPath: "/nonexistent.sock" });
    expect((docker.modem as unknown as { socketPath?: string }).socketPath).toBe("/nonexistent.sock");
    expect(typeof docker.getContainer("x").inspect).toBe("function");
  });

  it("an SSH client made through the stand-in is the real ssh2 client", () => {
    const standIn = fromModem("ssh2") as { Client: new () => object };
    const client = new standIn.Client();
    const real = fromModem("ssh2") as { Client: new () => object }; // the stand-in has made way for it
    expect(client).toBeInstanceOf(real.Client);
  });

  it("gRPC's stand-in answers with the real module's members", () => {
    const grpc = fromDockerode("@grpc/grpc-js") as Record<string, unknown>;
    expect(typeof grpc.credentials).toBe("object");
    expect(typeof grpc.loadPackageDefinition).toBe("function");
    expect("Server" in grpc).toBe(true);
  });
});
