/**
 * MQTT topics between venue boxes and the centre. Everything a venue publishes lives under its own
 * prefix so a broker ACL can confine a box to `vw/v1/venues/<its venue>/#`.
 *
 *   edge → centre   vw/v1/venues/<venue>/status      retained, also the last will   AgentStatus
 *   edge → centre   vw/v1/venues/<venue>/inventory   retained                       VenueInventory
 *   edge → centre   vw/v1/venues/<venue>/segments    QoS 1                          SegmentBatch
 *   centre → edge   vw/v1/venues/<venue>/windows     retained                       UploadWindows
 *   edge → centre   vw/v1/venues/<venue>/gaps        QoS 1, via the outbox          GapBatch
 *   edge → centre   vw/v1/venues/<venue>/alarm       QoS 1, via the outbox          AgentAlarm
 *   edge → centre   vw/v1/venues/<venue>/manifest    QoS 1, via the outbox          ManifestMessage
 *   centre → edge   vw/v1/venues/<venue>/commands    QoS 1, not retained            FetchCommand
 */
export const TOPIC_ROOT = 'vw/v1/venues';

export const topics = {
  status: (venueId: string) => `${TOPIC_ROOT}/${venueId}/status`,
  inventory: (venueId: string) => `${TOPIC_ROOT}/${venueId}/inventory`,
  segments: (venueId: string) => `${TOPIC_ROOT}/${venueId}/segments`,
  windows: (venueId: string) => `${TOPIC_ROOT}/${venueId}/windows`,
  gaps: (venueId: string) => `${TOPIC_ROOT}/${venueId}/gaps`,
  alarm: (venueId: string) => `${TOPIC_ROOT}/${venueId}/alarm`,
  manifest: (venueId: string) => `${TOPIC_ROOT}/${venueId}/manifest`,
  commands: (venueId: string) => `${TOPIC_ROOT}/${venueId}/commands`,
} as const;

export type TopicKind = keyof typeof topics;

/** What the centre subscribes to: every venue's edge → centre topics. */
export const centreSubscriptions = ['status', 'inventory', 'segments', 'gaps', 'alarm', 'manifest'].map((k) => `${TOPIC_ROOT}/+/${k}`);

/** Splits a topic into venue and kind; null when it is not one of ours. */
export function parseTopic(topic: string): { venueId: string; kind: TopicKind } | null {
  const m = /^vw\/v1\/venues\/([^/]+)\/([a-z]+)$/.exec(topic);
  if (!m) return null;
  const kind = m[2] as TopicKind;
  if (!(kind in topics)) return null;
  return { venueId: m[1]!, kind };
}
