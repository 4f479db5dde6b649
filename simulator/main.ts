/**
 * Runs a demo venue of virtual cameras on its own: `npx tsx simulator/main.ts [--cameras N]
 * [--host 127.0.0.1] [--discovery] [--user admin] [--password …] [--h265 code,…]`.
 * Prints each camera's ONVIF address and RTSP URL; Ctrl-C (or SIGTERM) stops every ffmpeg.
 */
import { parseArgs } from 'node:util';
import { startVirtualVenue, type VirtualVenue } from './venue.ts';

const { values } = parseArgs({
  options: {
    cameras: { type: 'string', default: '4' },
    host: { type: 'string', default: '127.0.0.1' },
    venue: { type: 'string', default: 'demo-county' },
    user: { type: 'string', default: 'admin' },
    password: { type: 'string', default: 'demo-camera-pass' },
    discovery: { type: 'boolean', default: false },
    h265: { type: 'string', default: '' },
    size: { type: 'string', default: '640x360' },
    fps: { type: 'string', default: '15' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`Usage: npx tsx simulator/main.ts [options]
  --cameras N        number of cameras (default 4)
  --host ADDR        address to listen on and advertise (default 127.0.0.1)
  --venue ID         venue id used for the cameras' identities (default demo-county)
  --user U --password P   camera credentials (default admin / demo-camera-pass)
  --discovery        answer WS-Discovery probes on --host (loopback: probe with device "lo")
  --h265 cam-1,cam-3 cameras that send H.265 instead of H.264
  --size WxH --fps N video size and rate (default 640x360, 15)`);
  process.exit(0);
}

const count = Number(values.cameras);
const [width, height] = values.size.split('x').map(Number);
if (!Number.isInteger(count) || count < 1 || count > 64 || !width || !height) {
  console.error('Bad arguments: --cameras must be 1–64 and --size like 640x360 (see --help).');
  process.exit(2);
}
const h265 = new Set(values.h265.split(',').filter(Boolean));

let venue: VirtualVenue | null = null;
let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  await venue?.stop();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  venue = await startVirtualVenue({
    venueId: values.venue,
    host: values.host,
    discovery: values.discovery ? { interfaceAddress: values.host } : false,
    cameras: Array.from({ length: count }, (_, i) => {
      const code = `cam-${i + 1}`;
      return { code, name: `Camera ${i + 1}`, username: values.user, password: values.password, codec: h265.has(code) ? ('h265' as const) : ('h264' as const), width, height, fps: Number(values.fps) };
    }),
  });
  if (stopping) await venue.stop();
  console.log(`\nVirtual venue "${venue.venueId}" running (RTSP port ${venue.rtspPort}). Credentials: ${values.user} / ${values.password}`);
  for (const c of venue.cameras) console.log(`  ${c.code.padEnd(8)} ONVIF ${c.xaddr}   RTSP ${c.rtspUrl}   ${c.endpoint}`);
  if (venue.discovery) console.log(`WS-Discovery answering on ${values.host}:3702`);
  console.log('Press Ctrl-C to stop.');
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  await shutdown(1);
}
