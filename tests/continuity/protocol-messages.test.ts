import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, parseTopic, topics, centreSubscriptions } from '../../protocol/index.ts';

// Issue 5's additive protocol: gap batches and alarms travel like every other edge → centre message.
describe('gap and alarm messages', () => {
  const venueId = 'v-proto';
  it('round-trip through encode/decode on their own topics', () => {
    const gap = encodeMessage('gaps', {
      venueId,
      gaps: [{ id: crypto.randomUUID(), cameraId: `${venueId}.cam-1`, kind: 'video', cause: 'camera_offline', start: '2026-11-01T08:00:00.000Z', end: '2026-11-01T08:00:20.000Z', detail: null }],
    });
    expect(decodeMessage('gaps', venueId, JSON.stringify(gap))).toMatchObject({ ok: true });
    const alarm = encodeMessage('alarm', {
      venueId,
      alarmId: crypto.randomUUID(),
      kind: 'disk_full',
      active: true,
      raisedAt: new Date().toISOString(),
      detail: 'disk full',
      pausedCameras: [`${venueId}.cam-2`],
      freeBytes: 1000,
    });
    expect(decodeMessage('alarm', venueId, JSON.stringify(alarm))).toMatchObject({ ok: true });
    expect(parseTopic(topics.gaps(venueId))).toEqual({ venueId, kind: 'gaps' });
    expect(parseTopic(topics.alarm(venueId))).toEqual({ venueId, kind: 'alarm' });
    expect(centreSubscriptions).toEqual(expect.arrayContaining(['vw/v1/venues/+/gaps', 'vw/v1/venues/+/alarm']));
  });

  it('refuses a gap that ends before it starts or names an unknown cause', () => {
    const bad = (g: Record<string, unknown>) =>
      decodeMessage('gaps', venueId, JSON.stringify({ v: 1, type: 'gaps', id: crypto.randomUUID(), venueId, sentAt: new Date().toISOString(), gaps: [g] }));
    const ok = { id: crypto.randomUUID(), cameraId: `${venueId}.cam-1`, kind: 'video', cause: 'camera_offline', start: '2026-11-01T08:00:00.000Z', end: '2026-11-01T08:00:20.000Z', detail: null };
    expect(bad(ok).ok).toBe(true);
    expect(bad({ ...ok, end: '2026-11-01T07:00:00.000Z' })).toMatchObject({ ok: false, error: expect.stringContaining('end') });
    expect(bad({ ...ok, cause: 'gremlins' })).toMatchObject({ ok: false, error: expect.stringContaining('cause') });
  });
});
