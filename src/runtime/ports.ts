/** Host ports for published web ports. */

import type { AddressInfo } from "node:net";
import { createServer } from "node:net";

/**
 * A loopback port free right now. Hop3 picks the host port itself (rather than letting Podman choose one at
 * random) so that a container started again after a kill or a reboot keeps the port the router points at.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
