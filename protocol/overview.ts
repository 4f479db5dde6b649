import { z } from 'zod';
import { IsoTime, VenueId } from './ids.ts';

/**
 * `GET /api/overview`: the city centre's view of its counties (市中心监管各县) on one screen — for
 * each venue of the user's scope, whether its box is up, how many of its cameras work now and
 * today's intact rate, its open device alerts and box alarms, today's bid sessions, its open
 * ledger entries and export requests waiting for a decision. Counts only; each links to its page.
 */

const Count = z.number().int().min(0);

export const VenueOverview = z.object({
  venueId: VenueId,
  venueName: z.string(),
  online: z.boolean(),
  lastSeen: IsoTime.nullable(),
  /** Cameras of the venue's inventory, and those online, recording and in state ok now. */
  cameras: Count,
  camerasWorking: Count,
  /** Today's camera intact rate (摄像机完好率), 0–1; null before the first sample. */
  intactRateToday: z.number().min(0).max(1).nullable(),
  openAlerts: Count,
  /** Kinds of the box's active alarms (disk pressure, recording paused…). */
  alarms: z.array(z.string()),
  /** Sessions planned on today's local day, and those running now. */
  sessionsToday: Count,
  sessionsInProgress: Count,
  /** Ledger entries not yet published or closed, and those found today. */
  ledgerOpen: Count,
  ledgerFoundToday: Count,
  exportsPending: Count,
});
export type VenueOverview = z.infer<typeof VenueOverview>;

export const CityOverview = z.object({
  /** The local day the "today" figures are of (ledger.timeZone). */
  day: z.iso.date(),
  generatedAt: IsoTime,
  venues: z.array(VenueOverview),
});
export type CityOverview = z.infer<typeof CityOverview>;
