import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, parseTopic, topics, deviceId, venueOf } from '../../protocol/index.ts';
import { loadServerConfig, loadEdgeAgentConfig, ConfigError } from '../../config/load.ts';

const segment = {
  id: '6f1d8f5e-3c1a-4b7e-9a55-0d3b8b1c2e4f',
  cameraId: 'v1.cam-a',
  runId: '0b7c1d7e-5b0a-4c1d-8f3e-2a9b6c4d1e0f',
  start: '2026-11-25T10:00:00.000Z',
  end: '2026-11-25T10:00:02.000Z',
  bytes: 1000,
  sha256: 'a'.repeat(64),
  hasAudio: true,
};

describe('MQTT contract', () => {
  it('round-trips a segment batch and binds it to the topic venue', () => {
    const msg = encodeMessage('segments', { venueId: 'v1', segments: [segment] });
    const decoded = decodeMessage('segments', 'v1', JSON.stringify(msg));
    expect(decoded).toEqual({ ok: true, message: msg });
  });

  it('refuses a message that claims another venue than its topic', () => {
    const msg = encodeMessage('segments', { venueId: 'v1', segments: [segment] });
    const decoded = decodeMessage('segments', 'v2', JSON.stringify(msg));
    expect(decoded).toMatchObject({ ok: false, error: expect.stringContaining('claims venue "v1"') });
  });

  it('names the bad field of a malformed payload', () => {
    expect(decodeMessage('segments', 'v1', 'not json')).toEqual({ ok: false, error: 'payload is not JSON' });
    const bad = { ...encodeMessage('segments', { venueId: 'v1', segments: [segment] }), segments: [{ ...segment, sha256: 'xyz' }] };
    expect(decodeMessage('segments', 'v1', JSON.stringify(bad))).toMatchObject({ ok: false, error: expect.stringContaining('segments.0.sha256') });
    const backwards = { ...segment, end: segment.start };
    expect(() => encodeMessage('segments', { venueId: 'v1', segments: [backwards] })).toThrow(/end must be after/);
  });

  it('refuses oversized payloads before parsing', () => {
    expect(decodeMessage('status', 'v1', Buffer.alloc(2 * 1024 * 1024, 32))).toMatchObject({ ok: false, error: expect.stringContaining('exceeds') });
  });

  it('parses only its own topics', () => {
    expect(parseTopic(topics.segments('county-a'))).toEqual({ venueId: 'county-a', kind: 'segments' });
    expect(parseTopic('vw/v1/venues/county-a/nope')).toBeNull();
    expect(parseTopic('other/topic')).toBeNull();
    expect(venueOf(deviceId('county-a', 'kb1'))).toBe('county-a');
    expect(() => deviceId('county-a', 'Bad Id')).toThrow(/not a valid local id/);
  });
});

describe('configuration', () => {
  it('applies defaults, file-less env overrides and names a bad setting', () => {
    const cfg = loadServerConfig({ env: { PORT: '9090', DATABASE_URL: 'postgres://x@h/db' } });
    expect(cfg.port).toBe(9090);
    expect(cfg.databaseUrl).toBe('postgres://x@h/db');
    expect(() => loadServerConfig({ env: { PORT: 'eighty' } })).toThrow(ConfigError);
    expect(() => loadServerConfig({ env: { PORT: 'eighty' } })).toThrow(/environment variable PORT="eighty" \(setting server.port\)/);
    expect(() => loadServerConfig({ env: {}, overrides: { sessions: { preRollMinute: 5 } } })).toThrow(/preRollMinute/);
    expect(() => loadEdgeAgentConfig({ env: { MQTT_URL: 'http://nope' } })).toThrow(/mqtt.url/);
  });
});
