import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { startOnvifDevice, type OnvifDevice } from '../../simulator/onvif/device.ts';

// The edge agent's ONVIF client, used exactly as the agent uses it.
const require = createRequire(import.meta.url);
const { Cam } = require('onvif/promises') as typeof import('onvif/promises');

describe('virtual ONVIF device with the onvif npm client', () => {
  let device: OnvifDevice;

  beforeAll(async () => {
    // No stream behind it: connect and GetStreamUri need none.
    device = await startOnvifDevice({
      username: 'admin',
      password: 'pa55-word',
      endpoint: 'urn:uuid:6f1c3c5e-0000-5000-8000-000000000001',
      name: 'Bid room front',
      manufacturer: 'SimCam',
      model: 'SC-100',
      serial: 'SN0001',
      firmware: '5.7.3',
      stream: { rtspHost: '127.0.0.1', rtspPort: 8554, path: 'kb1-cam1', codec: 'h264', width: 320, height: 180, fps: 10, audio: true, bitrateKbps: 300 },
      logger: pino({ level: 'warn' }),
    });
  });

  afterAll(async () => {
    await device?.close();
  });

  it('connects with the right credentials and reads device information and the stream URI', async () => {
    const cam = new Cam({ hostname: '127.0.0.1', port: device.port, username: 'admin', password: 'pa55-word', timeout: 5000 });
    await cam.connect();
    const info = (await cam.getDeviceInformation()) as Record<string, unknown>;
    expect(info).toMatchObject({ manufacturer: 'SimCam', model: 'SC-100', serialNumber: 'SN0001', firmwareVersion: '5.7.3' });
    const uri = (await cam.getStreamUri()) as { uri: string };
    expect(uri.uri).toBe('rtsp://127.0.0.1:8554/kb1-cam1');
    expect(device.xaddr).toBe(`http://127.0.0.1:${device.port}/onvif/device_service`);
    const snap = (await cam.getSnapshotUri()) as { uri: string };
    expect(snap.uri).toBe(`http://127.0.0.1:${device.port}/onvif/snapshot.jpg`);
  });

  it('answers a wrong password with an authentication error, not a hang', async () => {
    const cam = new Cam({ hostname: '127.0.0.1', port: device.port, username: 'admin', password: 'wrong', timeout: 5000 });
    const started = Date.now();
    await expect(cam.connect()).rejects.toThrow(/not authorized/i);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('reports its clock with the configured offset, without authentication', async () => {
    device.setClockOffset(3600_000);
    const cam = new Cam({ hostname: '127.0.0.1', port: device.port, timeout: 5000 });
    const time = (await cam.getSystemDateAndTime()) as Date;
    expect(Math.abs(time.getTime() - (Date.now() + 3600_000))).toBeLessThan(2000);
    device.setClockOffset(0);
  });

  it('refuses oversized and entity-laden requests', async () => {
    const big = await fetch(device.xaddr, { method: 'POST', body: 'x'.repeat(200 * 1024), headers: { 'content-type': 'application/soap+xml' } }).catch(() => null);
    expect(big === null || big.status === 413).toBe(true);
    const evil = await fetch(device.xaddr, {
      method: 'POST',
      headers: { 'content-type': 'application/soap+xml' },
      body: '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><GetSystemDateAndTime/></s:Body></s:Envelope>',
    });
    expect(evil.status).toBe(400);
  });
});
