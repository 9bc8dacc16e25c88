/**
 * Fan-out for aggregation endpoints: every part runs at once, so the slowest part sets the pace,
 * not the sum of them. Optional parts may fail and are reported one by one; a required part that
 * fails cancels the others and fails the request.
 */
import type { Log } from '../http/exchange.js';
import { toGatehouseError } from '../errors.js';
import type { PartError } from './types.js';

type Parts = Record<string, (signal: AbortSignal) => Promise<unknown>>;

export async function gather(
  parts: Parts,
  optional: readonly PropertyKey[],
  signal: AbortSignal,
  log: Log,
): Promise<{ results: Record<string, unknown>; errors: Record<string, PartError> }> {
  const cancel = new AbortController();
  const partSignal = AbortSignal.any([signal, cancel.signal]);
  let failure: unknown;
  const names = Object.keys(parts);
  const settled = await Promise.allSettled(
    names.map(async (name) => {
      try {
        return await parts[name]!(partSignal);
      } catch (error) {
        if (!optional.includes(name) && failure === undefined) {
          failure = error;
          cancel.abort();
        }
        throw error;
      }
    }),
  );
  if (failure !== undefined) throw failure;
  const results: Record<string, unknown> = {};
  const errors: Record<string, PartError> = {};
  settled.forEach((outcome, i) => {
    const name = names[i]!;
    if (outcome.status === 'fulfilled') {
      results[name] = outcome.value;
      return;
    }
    const error = toGatehouseError(outcome.reason);
    // Logged like a failed request would be, since the browser only sees the public part.
    log.warn({ part: name, code: error.code, detail: error.detail, err: error.cause }, 'optional part failed');
    errors[name] = error.toJSON();
  });
  return { results, errors };
}
