import { createServer, connect, type Socket } from 'node:net';

/**
 * The venue Wi-Fi between a browser and the centre, as a TCP relay a test can cut: while cut, every
 * open connection is dropped and new ones are closed at once, so no request reaches the centre.
 * Browser tests use it with Playwright's `setOffline`, which tells the page it is offline but
 * is not reliably applied to a page a service worker controls (microsoft/playwright#2311: a
 * worker restarted while offline may send before the emulation reaches it).
 */
export interface VenueLink {
  /** The centre's address as seen through the link (same scheme, the link's port). */
  url: string;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function openVenueLink(centreUrl: string): Promise<VenueLink> {
  const centre = new URL(centreUrl);
  const open = new Set<Socket>();
  let down = false;
  const server = createServer((client) => {
    if (down) return client.destroy();
    const upstream = connect(Number(centre.port), centre.hostname);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const cut = () => {
    down = true;
    for (const s of open) s.destroy();
    open.clear();
  };
  return {
    url: `${centre.protocol}//127.0.0.1:${port}`,
    cut,
    restore() {
      down = false;
    },
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
