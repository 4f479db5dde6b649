import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDeviceAddress } from '../../edge-agent/discovery/onvif-device.ts';
import { CameraEventSubscriber } from '../../edge-agent/events/camera-events.ts';
import type { RoomEvent } from '../../protocol/index.ts';
import { startOnvifDevice, type OnvifDevice } from '../../simulator/onvif/device.ts';
import { waitFor } from './agent-fixture.ts';

/**
 * A camera switched off mid-subscription: the agent asks it for events again about once a second,
 * not ~30 times a second (the onvif client's own first retries), and picks its events up again
 * when it comes back.
 */
describe('camera events of a camera that goes off and comes back', () => {
  const options = {
    username: 'admin',
    password: 'ev-pass-1',
    endpoint: 'urn:uuid:6f1c3c5e-0000-5000-8000-0000000000e1',
    name: 'Events camera',
    stream: { rtspHost: '127.0.0.1', rtspPort: 8554, path: 'ev-cam', codec: 'h264' as const, width: 320, height: 180, fps: 10, audio: false, bitrateKbps: 300 },
    pullWaitMs: 500,
    logger: pino({ level: 'silent' }),
  };
  let device: OnvifDevice | null = null;
  let subscriber: CameraEventSubscriber | null = null;

  afterAll(async () => {
    subscriber?.stop();
    await device?.close();
  });

  it('retries about once a second while the camera is off, and subscribes again when it is back', async () => {
    device = await startOnvifDevice(options);
    const port = device.port;
    const logs: { msg: string; err?: string }[] = [];
    const events: RoomEvent[] = [];
    subscriber = new CameraEventSubscriber({
      cameraId: 'v.ev-cam',
      roomId: null,
      address: parseDeviceAddress(device.xaddr),
      username: options.username,
      password: options.password,
      timeoutMs: 3000,
      logger: pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string }) }),
      onEvent: (e) => events.push(e),
    });
    subscriber.start();
    await waitFor('subscribed', () => device!.subscriptions() > 0, 10_000);
    device.emitEvent('tamper', true);
    await waitFor('the tamper event', () => events.some((e) => e.kind === 'tamper'), 10_000);

    await device.close();
    const offAt = logs.length;
    await new Promise((r) => setTimeout(r, 4000));
    const retries = logs.slice(offAt).filter((l) => l.msg === 'camera events error');
    // 1 s, 2.1 s, 3.3 s (a ninth longer each time), and the pull cut short by the power-off.
    expect(retries.length).toBeGreaterThanOrEqual(2);
    expect(retries.length).toBeLessThanOrEqual(5);

    device = await startOnvifDevice({ ...options, port });
    await waitFor('subscribed again', () => device!.subscriptions() > 0, 15_000);
    device.emitEvent('motion', true);
    await waitFor('the motion event after the camera came back', () => events.some((e) => e.kind === 'motion'), 10_000);
  }, 40_000);
});
