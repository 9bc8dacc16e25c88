/**
 * The providers users may sign in with: `oidc` itself ("default") and each of `oidc.providers`,
 * each an OidcClient of its own (metadata discovered and cached per provider, its own keys and
 * TLS). A session keeps to the provider it signed in with: its refresh, token exchange, revocation,
 * logout and back-channel logout all go there.
 */
import type { JWK } from 'jose';
import type { GatehouseConfig } from '../config/load.js';
import { DEFAULT_PROVIDER } from '../config/schema.js';
import { GatehouseError } from '../errors.js';
import type { SessionData } from '../session/session.js';
import { ClientIdentity, type TlsFetchFactory } from './client-identity.js';
import { OidcClient } from './client.js';

/** Each provider's client identity (keys, certificate), loaded once at start. */
export async function loadIdentities(
  config: GatehouseConfig,
  tlsFetch?: TlsFetchFactory,
): Promise<ReadonlyMap<string, ClientIdentity>> {
  return new Map(
    await Promise.all(
      config.providers.map(async (settings) => [settings.name, await ClientIdentity.load(settings, tlsFetch)] as const),
    ),
  );
}

export class Providers {
  readonly #clients: ReadonlyMap<string, OidcClient>;
  /** The provider of `oidc` itself: sign-in when none is named, and Gatehouse's own (client) tokens. */
  readonly default: OidcClient;

  constructor(
    config: GatehouseConfig,
    identities: ReadonlyMap<string, ClientIdentity>,
    apis: { resources: string[]; scopes: string[] },
  ) {
    this.#clients = new Map(
      config.providers.map((settings) => [
        settings.name,
        new OidcClient(settings, identities.get(settings.name)!, apis),
      ]),
    );
    this.default = this.#clients.get(DEFAULT_PROVIDER)!;
  }

  get all(): readonly OidcClient[] {
    return [...this.#clients.values()];
  }

  /** The provider called `name`; undefined for a name that is not configured (never a default). */
  named(name: string): OidcClient | undefined {
    return this.#clients.get(name);
  }

  /** The provider a session signed in with. One no longer configured cannot refresh it: the session is over. */
  of(data: Pick<SessionData, 'provider'>): OidcClient {
    const client = this.#clients.get(data.provider ?? DEFAULT_PROVIDER);
    if (!client) {
      throw new GatehouseError('session_expired', {
        detail: `the session's provider "${data.provider}" is not configured`,
      });
    }
    return client;
  }

  /**
   * The state of an authorization response, before it is known which provider sent it (a JARM
   * response must be opened first): whichever provider can read it.
   */
  async responseState(params: URLSearchParams): Promise<string | undefined> {
    for (const client of this.#clients.values()) {
      const state = await client.responseState(params);
      if (state !== undefined) return state;
    }
    return undefined;
  }

  /** The public keys of every provider's registration, each once (registration by jwks_uri). */
  jwks(): { keys: JWK[] } {
    const byKid = new Map<string, JWK>();
    for (const client of this.#clients.values()) {
      for (const key of client.identity.jwks().keys) byKid.set(key.kid ?? JSON.stringify(key), key);
    }
    return { keys: [...byKid.values()] };
  }

  async close(): Promise<void> {
    await Promise.all(this.all.map((client) => client.close()));
  }
}
