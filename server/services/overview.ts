import type { CityOverview, User } from '../../protocol/index.ts';
import type { DeviceHealthRepository } from '../repositories/device-health.ts';
import type { OverviewRepository } from '../repositories/overview.ts';
import type { VenueService } from './venues.ts';
import { canSeeVenue } from './access.ts';
import { dayBounds, localDay } from './calendar.ts';

/** The city overview: every venue of the user's scope with its counts of today (local day). */
export class OverviewService {
  constructor(
    private readonly repo: OverviewRepository,
    private readonly venues: VenueService,
    private readonly health: Pick<DeviceHealthRepository, 'intactDaily'>,
    private readonly timeZone: string,
  ) {}

  async overview(user: Pick<User, 'venueIds'>, now = new Date()): Promise<CityOverview> {
    const day = localDay(now, this.timeZone);
    const [venues, counts, intact] = await Promise.all([this.venues.summaries(), this.repo.counts(dayBounds(day, this.timeZone), now), this.health.intactDaily(user.venueIds, day)]);
    return {
      day,
      generatedAt: now.toISOString(),
      venues: venues
        .filter((v) => canSeeVenue(user, v.id))
        .map((v) => {
          const c = counts.get(v.id);
          const today = intact.find((i) => i.venueId === v.id && i.day === day);
          return {
            venueId: v.id,
            venueName: v.name,
            online: v.online,
            lastSeen: v.lastSeen,
            cameras: c?.cameras ?? 0,
            camerasWorking: c?.camerasWorking ?? 0,
            intactRateToday: today && today.cameraSamples > 0 ? today.intactSamples / today.cameraSamples : null,
            openAlerts: c?.openAlerts ?? 0,
            alarms: c?.alarms ?? [],
            sessionsToday: c?.sessionsToday ?? 0,
            sessionsInProgress: c?.sessionsInProgress ?? 0,
            ledgerOpen: c?.ledgerOpen ?? 0,
            ledgerFoundToday: c?.ledgerFoundToday ?? 0,
            exportsPending: c?.exportsPending ?? 0,
          };
        }),
    };
  }
}
