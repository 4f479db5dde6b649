/**
 * MQTT topics between venue boxes and the centre. Everything a venue publishes lives under its own
 * prefix so a broker ACL can confine a box to `vw/v1/venues/<its venue>/#`.
 *
 *   edge → centre   vw/v1/venues/<venue>/status      retained, also the last will   AgentStatus
 *   edge → centre   vw/v1/venues/<venue>/inventory   retained                       VenueInventory
 *   edge → centre   vw/v1/venues/<venue>/segments    QoS 1                          SegmentBatch
 *   centre → edge   vw/v1/venues/<venue>/windows     retained                       UploadWindows
 *   edge → centre   vw/v1/venues/<venue>/health      retained                       HealthReport
 *   edge → centre   vw/v1/venues/<venue>/events      QoS 1 (outbox)                 RoomEventBatch
 *   centre → edge   vw/v1/venues/<venue>/commands    QoS 1, not retained            BoxCommand | FetchCommand
 *   edge → centre   vw/v1/venues/<venue>/replies     QoS 1                          CommandReply
 *   edge → centre   vw/v1/venues/<venue>/gaps        QoS 1, via the outbox          GapBatch
 *   edge → centre   vw/v1/venues/<venue>/alarm       QoS 1, via the outbox          AgentAlarm
 *   edge → centre   vw/v1/venues/<venue>/manifest    QoS 1, via the outbox          ManifestMessage
 */
export const TOPIC_ROOT = 'vw/v1/venues';

export const topics = {
  status: (venueId: string) => `${TOPIC_ROOT}/${venueId}/status`,
  inventory: (venueId: string) => `${TOPIC_ROOT}/${venueId}/inventory`,
  segments: (venueId: string) => `${TOPIC_ROOT}/${venueId}/segments`,
  windows: (venueId: string) => `${TOPIC_ROOT}/${venueId}/windows`,
  health: (venueId: string) => `${TOPIC_ROOT}/${venueId}/health`,
  events: (venueId: string) => `${TOPIC_ROOT}/${venueId}/events`,
  commands: (venueId: string) => `${TOPIC_ROOT}/${venueId}/commands`,
  replies: (venueId: string) => `${TOPIC_ROOT}/${venueId}/replies`,
  gaps: (venueId: string) => `${TOPIC_ROOT}/${venueId}/gaps`,
  alarm: (venueId: string) => `${TOPIC_ROOT}/${venueId}/alarm`,
  manifest: (venueId: string) => `${TOPIC_ROOT}/${venueId}/manifest`,
} as const;

/** Topics only the centre publishes to (a box publishing there is refused). */
export const centreToEdgeKinds: readonly TopicKindName[] = ['windows', 'commands'];
type TopicKindName = 'status' | 'inventory' | 'segments' | 'windows' | 'health' | 'events' | 'commands' | 'replies' | 'gaps' | 'alarm' | 'manifest';

export type TopicKind = keyof typeof topics;

/** What the centre subscribes to: every venue's edge → centre topics. */
export const centreSubscriptions = ['status', 'inventory', 'segments', 'health', 'events', 'replies', 'gaps', 'alarm', 'manifest'].map((k) => `${TOPIC_ROOT}/+/${k}`);

/** Splits a topic into venue and kind; null when it is not one of ours. */
export function parseTopic(topic: string): { venueId: string; kind: TopicKind } | null {
  const m = /^vw\/v1\/venues\/([^/]+)\/([a-z]+)$/.exec(topic);
  if (!m) return null;
  const kind = m[2] as TopicKind;
  if (!(kind in topics)) return null;
  return { venueId: m[1]!, kind };
}
