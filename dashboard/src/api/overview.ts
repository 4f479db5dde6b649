import { CityOverview } from '../../../protocol/overview.ts';
import { request } from './client.ts';

/** The city overview (`GET /api/overview`), checked against the protocol's schema. */
export const overviewApi = {
  get: () => request('/api/overview', CityOverview),
};
