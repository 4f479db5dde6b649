import { createServer, connect, type Socket } from 'node:net';

/**
 * A venue's network link to the centre, as a TCP relay a test can break the two ways real links break:
 * - `cut()`: the Wi-Fi or uplink is down and the device knows it: every open connection is dropped
 *   and new ones are closed at once, so nothing reaches the centre. Browser tests use it with
 *   Playwright's `setOffline`, which tells the page it is offline but is not reliably applied to a
 *   page a service worker controls (microsoft/playwright#2311: CI once saw an entry arrive at the
 *   centre while the page was "offline");
 * - `freeze()`: power or uplink lost somewhere between: bytes stop in both directions and neither
 *   side sees a close, so only a keepalive can tell.
 */
export interface VenueLink {
  /** The centre's address as seen through the link (same scheme, the link's port). */
  url: string;
  port: number;
  cut(): void;
  freeze(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function openVenueLink(centreUrl: string): Promise<VenueLink> {
  const centre = new URL(centreUrl);
  const open = new Set<Socket>();
  let state: 'up' | 'cut' | 'frozen' = 'up';
  const server = createServer((client) => {
    if (state === 'cut') return client.destroy();
    const upstream = connect(Number(centre.port), centre.hostname);
    open.add(client).add(upstream);
    client.on('data', (d) => state === 'up' && upstream.write(d));
    upstream.on('data', (d) => state === 'up' && client.write(d));
    // A frozen link passes on no close either.
    const drop = () => {
      if (state === 'frozen') return;
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const cut = () => {
    state = 'cut';
    for (const s of open) s.destroy();
    open.clear();
  };
  return {
    url: `${centre.protocol}//127.0.0.1:${port}`,
    port,
    cut,
    freeze() {
      state = 'frozen';
    },
    restore() {
      state = 'up';
    },
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
