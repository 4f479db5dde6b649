import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureClockOffset } from '../../edge-agent/discovery/camera-clock.ts';
import { describeDevice, DeviceError } from '../../edge-agent/discovery/onvif-device.ts';
import { answersOnvif } from '../../edge-agent/discovery/unicast-probe.ts';

/**
 * A hostile "camera" must not hurt the box: an XML bomb and a 100 MB answer against the agent's
 * ONVIF client path (the `onvif` package under the SOAP guard), the clock check and the unicast
 * probe. Each is refused fast, with the reason, and the server sees the connection cut early.
 */

const BOMB =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
  '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">' +
  '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">' +
  '<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">' +
  '<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>' +
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><tds:GetSystemDateAndTimeResponse xmlns:tds="http://www.onvif.org/ver10/device/wsdl">' +
  '<tds:SystemDateAndTime><tt:UTCDateTime xmlns:tt="http://www.onvif.org/ver10/schema"><tt:Time><tt:Hour>&lol9;</tt:Hour></tt:Time></tt:UTCDateTime></tds:SystemDateAndTime>' +
  '</tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>';

const HUNDRED_MB = 100 * 1024 * 1024;

interface Hostile {
  url: string;
  /** Bytes the server managed to write before the client hung up. */
  sent: () => number;
  close(): Promise<void>;
}

async function hostile(kind: 'bomb' | 'huge'): Promise<Hostile> {
  let sent = 0;
  const chunk = Buffer.alloc(1024 * 1024, '<a>x</a>');
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (kind === 'bomb') {
        res.writeHead(200, { 'content-type': 'application/soap+xml' }).end(BOMB);
        sent += BOMB.length;
        return;
      }
      // 100 MB of "XML", streamed (no Content-Length), as fast as the client reads.
      res.writeHead(200, { 'content-type': 'application/soap+xml' });
      res.write('<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>');
      const pump = (): void => {
        while (sent < HUNDRED_MB) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('</s:Body></s:Envelope>');
      };
      res.on('close', () => undefined);
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/onvif/device_service`,
    sent: () => sent,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('hostile camera answers', () => {
  let bomb: Hostile;
  let huge: Hostile;
  beforeAll(async () => {
    bomb = await hostile('bomb');
    huge = await hostile('huge');
  });
  afterAll(async () => {
    await bomb?.close();
    await huge?.close();
  });

  const address = (url: string) => {
    const u = new URL(url);
    return { hostname: u.hostname, port: Number(u.port), path: u.pathname };
  };

  it('refuses an XML bomb on the onvif client path without parsing it', async () => {
    const started = Date.now();
    const err = await describeDevice(address(bomb.url), { username: 'admin', password: 'x' }, 2000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).message).toMatch(/DTD/);
    expect((err as DeviceError).kind).toBe('invalid');
    expect(Date.now() - started).toBeLessThan(2000);
    await expect(measureClockOffset(bomb.url, 2000)).rejects.toThrow(/DTD/);
  });

  it('cuts a 100 MB answer at the cap on the onvif client path, the clock check and the unicast probe', async () => {
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const err = await describeDevice(address(huge.url), { username: 'admin', password: 'x' }, 5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceError);
    expect((err as DeviceError).message).toMatch(/larger than \d+ bytes/);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(measureClockOffset(huge.url, 5000)).rejects.toThrow(/exceeds/);
    expect(await answersOnvif(huge.url, 5000)).toBe(false);
    // Three clients hung up early: far less than 3 × 100 MB left the server, and memory stayed flat.
    expect(huge.sent()).toBeLessThan(40 * 1024 * 1024);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(80 * 1024 * 1024);
  }, 30_000);
});
