/**
 * GatehouseSessions, the Durable Object that holds sessions on Cloudflare Workers. One object per
 * name, each with strongly consistent storage and one request at a time, wherever in the world the
 * Worker runs: a session's record and its refresh lock ("s:<key>"), the sessions of one provider
 * session or user ("i:<sid or sub>"), a one-time value ("u:<value>"). Records arrive sealed
 * (AES-256-GCM, bound to their key): the object stores what it cannot read. Everything expires by
 * itself (an alarm clears the object).
 */
import { DurableObject } from 'cloudflare:workers';

interface Record {
  sealed: Uint8Array;
  touchedAt: number;
  expiresAt: number;
}

interface Expiring {
  expiresAt: number;
}

export class GatehouseSessions extends DurableObject {
  // A session: its record.

  /**
   * The record; without its sealed bytes when they still begin with `known` (the header of the
   * sealing the caller has already opened: the record has not changed since).
   */
  async readRecord(known?: Uint8Array): Promise<{ sealed?: Uint8Array; touchedAt: number } | undefined> {
    const record = await this.#live<Record>('record');
    if (!record) return undefined;
    if (known && startsWith(record.sealed, known)) return { touchedAt: record.touchedAt };
    return { sealed: record.sealed, touchedAt: record.touchedAt };
  }

  /** Writes the record; with `onlyIfPresent`, only over a live one (a logout meanwhile must not be undone). */
  async writeRecord(sealed: Uint8Array, touchedAt: number, ttlMs: number, onlyIfPresent: boolean): Promise<boolean> {
    if (onlyIfPresent && !(await this.#live('record'))) return false;
    await this.#put('record', { sealed, touchedAt, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async touchRecord(touchedAt: number, ttlMs: number): Promise<boolean> {
    const record = await this.#live<Record>('record');
    if (!record) return false;
    await this.#put('record', { ...record, touchedAt, expiresAt: Date.now() + ttlMs });
    return true;
  }

  async removeRecord(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  // A session's refresh lock: one holder across every Worker instance.

  async takeLock(ttlMs: number): Promise<string | undefined> {
    if (await this.#live('lock')) return undefined;
    const token = crypto.randomUUID();
    await this.#put('lock', { token, expiresAt: Date.now() + ttlMs });
    return token;
  }

  async releaseLock(token: string): Promise<void> {
    const lock = await this.#live<Expiring & { token: string }>('lock');
    if (lock?.token === token) await this.ctx.storage.delete('lock');
  }

  // A one-time value (login state, logout token jti).

  async markOnce(ttlMs: number): Promise<boolean> {
    if (await this.#live('used')) return false;
    await this.#put('used', { expiresAt: Date.now() + ttlMs });
    return true;
  }

  // An index: the session keys of one provider session or user.

  async addMember(key: string, ttlMs: number): Promise<void> {
    const members = (await this.#live<Expiring & { keys: { [key: string]: number } }>('members'))?.keys ?? {};
    members[key] = Date.now() + ttlMs;
    await this.#put('members', { keys: members, expiresAt: Math.max(...Object.values(members)) });
  }

  async listMembers(): Promise<string[]> {
    const members = (await this.#live<Expiring & { keys: { [key: string]: number } }>('members'))?.keys ?? {};
    const now = Date.now();
    return Object.keys(members).filter((key) => members[key]! > now);
  }

  /** Clears what has expired; the object is gone once nothing is left. */
  async alarm(): Promise<void> {
    const now = Date.now();
    let next = Infinity;
    for (const name of ['record', 'lock', 'used', 'members']) {
      const entry = await this.ctx.storage.get<Expiring>(name);
      if (!entry) continue;
      if (entry.expiresAt <= now) await this.ctx.storage.delete(name);
      else next = Math.min(next, entry.expiresAt);
    }
    if (next !== Infinity) await this.ctx.storage.setAlarm(next);
  }

  async #live<T extends Expiring>(name: string): Promise<T | undefined> {
    const entry = await this.ctx.storage.get<T>(name);
    return entry && entry.expiresAt > Date.now() ? entry : undefined;
  }

  async #put<T extends Expiring>(name: string, entry: T): Promise<void> {
    await this.ctx.storage.put(name, entry);
    await this.ctx.storage.setAlarm(entry.expiresAt);
  }
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length === 0 || bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
