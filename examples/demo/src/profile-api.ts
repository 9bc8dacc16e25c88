/**
 * The demo's internal "profile" API: the signed-in customer's account details, which the
 * dashboard extension composes with their orders; internal-api.ts checks its callers' tokens.
 *   GET /profile   the caller's profile
 */
import { json, startInternalApi, type InternalApi, type InternalApiOptions } from './internal-api.js';

export interface Profile {
  sub: string;
  displayName: string;
  email: string;
  memberSince: string;
  tier: 'standard' | 'gold';
  points: number;
  address: { street: string; city: string; postcode: string; country: string };
  preferences: { newsletter: boolean; language: string };
}

const PROFILES: Record<string, Profile> = {
  alice: {
    sub: 'alice',
    displayName: 'Alice Anderson',
    email: 'alice@example.com',
    memberSince: '2023-03-14',
    tier: 'gold',
    points: 1280,
    address: { street: '12 Harbour Lane', city: 'Bristol', postcode: 'BS1 4RN', country: 'GB' },
    preferences: { newsletter: true, language: 'en-GB' },
  },
  bob: {
    sub: 'bob',
    displayName: 'Bob Brown',
    email: 'bob@example.com',
    memberSince: '2025-06-02',
    tier: 'standard',
    points: 140,
    address: { street: '5 Canal Street', city: 'Leeds', postcode: 'LS1 6AA', country: 'GB' },
    preferences: { newsletter: false, language: 'en-GB' },
  },
};

export type ProfileApi = InternalApi;

export function startProfileApi(options: InternalApiOptions): Promise<ProfileApi> {
  return startInternalApi(options, (req, res, { sub, path }) => {
    const profile = PROFILES[sub];
    if (req.method === 'GET' && path === '/profile' && profile) return json(res, 200, profile);
    json(res, 404, { error: 'not_found' });
  });
}
