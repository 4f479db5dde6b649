import { describe, expect, it } from 'vitest';
import { applyEvent, groupBoard } from '../../dashboard/src/devices/device-board.ts';
import type { Alert, DeviceHealthEntry, DeviceList } from '../../protocol/index.ts';

const at = '2026-11-25T10:00:00.000Z';
const dev = (id: string, kind: DeviceHealthEntry['kind'], roomId: string | null, online = true): DeviceHealthEntry => ({
  id,
  venueId: 'v1',
  roomId,
  kind,
  name: id.split('.').pop()!,
  online,
  state: online ? 'ok' : 'offline',
  updatedAt: at,
  camera: null,
  sensor: null,
  box: null,
});

describe('device board state', () => {
  const list: DeviceList = {
    venues: [{ id: 'v1', name: 'Venue 1', online: true, lastSeen: at, rooms: [{ id: 'v1.b', name: 'B room' }, { id: 'v1.a', name: 'A room' }], intactRateToday: 1 }],
    devices: [dev('v1', 'box', null), dev('v1.cam-2', 'camera', 'v1.b'), dev('v1.cam-1', 'camera', 'v1.a'), dev('v1.door', 'sensor', null)],
  };

  it('groups by venue and room (rooms by name, unassigned last), box apart', () => {
    const devices = new Map(list.devices.map((d) => [d.id, d]));
    const [g] = groupBoard(list, devices);
    expect(g!.box!.id).toBe('v1');
    expect(g!.rooms.map((r) => [r.name, r.devices.map((d) => d.id)])).toEqual([
      ['A room', ['v1.cam-1']],
      ['B room', ['v1.cam-2']],
      [null, ['v1.door']],
    ]);
  });

  it('applies SSE device and alert events, ignores malformed ones; a box going offline marks the venue', () => {
    const devices = new Map(list.devices.map((d) => [d.id, d]));
    const alerts = new Map<string, Alert>();
    expect(applyEvent('device', JSON.stringify(dev('v1', 'box', null, false)), devices, alerts)).toBe(true);
    expect(groupBoard(list, devices)[0]!.venue.online).toBe(false);
    const alert: Alert = { id: '6f1c3c5e-0000-4000-8000-000000000001', venueId: 'v1', deviceId: 'v1', roomId: null, kind: 'box_offline', message: 'gone', messageZh: null, raisedAt: at, clearedAt: null, acknowledgedAt: null, acknowledgedBy: null };
    expect(applyEvent('alert', JSON.stringify(alert), devices, alerts)).toBe(true);
    expect(alerts.get(alert.id)!.kind).toBe('box_offline');
    expect(applyEvent('device', '{not json', devices, alerts)).toBe(false);
    expect(applyEvent('device', JSON.stringify({ id: 'x' }), devices, alerts)).toBe(false);
    expect(applyEvent('other', '{}', devices, alerts)).toBe(false);
  });
});
