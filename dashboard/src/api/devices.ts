import { Alert, AlertList, DeviceHistory, DeviceList } from '../../../protocol/health.ts';
import { RoomEventList } from '../../../protocol/room-events.ts';
import { DeviceHealthEntry } from '../../../protocol/health.ts';
import { CommandReply, type BoxCommandName } from '../../../protocol/messages.ts';
import { PreSessionCheckResult } from '../../../protocol/pre-session-check.ts';
import { request } from './client.ts';

/** Device-health calls of the centre's API (board, history, alerts). */
export const devicesApi = {
  list: () => request('/api/devices', DeviceList),
  history: (id: string, hours = 24) => request(`/api/devices/${encodeURIComponent(id)}/history?hours=${hours}`, DeviceHistory),
  alerts: () => request('/api/alerts', AlertList),
  roomEvents: (limit = 50) => request(`/api/events?limit=${limit}`, RoomEventList),
  assignSensor: (id: string, roomId: string | null) => request(`/api/sensors/${encodeURIComponent(id)}/room`, DeviceHealthEntry, { method: 'PUT', body: { roomId } }),
  command: (venueId: string, command: BoxCommandName, cameraId?: string) =>
    request(`/api/venues/${encodeURIComponent(venueId)}/commands`, CommandReply, { method: 'POST', body: cameraId ? { command, cameraId } : { command } }),
  acknowledge: (id: string) => request(`/api/alerts/${encodeURIComponent(id)}/acknowledge`, Alert, { method: 'POST' }),
  /** The session's last pre-session check; 404 (not_found) when it has not been checked yet. */
  preCheck: (sessionId: string) => request(`/api/sessions/${encodeURIComponent(sessionId)}/pre-check`, PreSessionCheckResult),
  runPreCheck: (sessionId: string) => request(`/api/sessions/${encodeURIComponent(sessionId)}/pre-check`, PreSessionCheckResult, { method: 'POST' }),
};
