import { createServer } from 'node:net';

/**
 * Below Linux's ephemeral range (32768–60999): a port the kernel picked for `listen(0)` sits in that
 * range, where any outgoing connection of another test may take it as its local port between our
 * check and the server's listen (seen: the launcher builds the dashboard for ~20 s first, and lost
 * its port with EADDRINUSE). Ports here are only ever taken by a listen.
 */
const LOW = 20_000;
const HIGH = 32_767;
const handedOut = new Set<number>();

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    // Every interface: the centre listens on 0.0.0.0, the others on loopback.
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

/** A TCP port free on every interface right now, for servers a test or benchmark starts. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port)) continue;
    if (await tryListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free TCP port between ${LOW} and ${HIGH}: is something holding them all?`);
}
