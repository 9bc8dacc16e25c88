/**
 * One Gatehouse per isolate (Workers) or execution environment (Lambda), built when the first
 * request needs it. A start that fails answers that request 500 `server_error` with every problem
 * in the log, and the next request tries again (a secret may have been added meanwhile).
 */
import { ConfigError } from '../config/load.js';
import { GatehouseError } from '../errors.js';
import { consoleLog } from './console-log.js';
import type { FetchGatehouse } from './handler.js';

export function startOnce<Args extends unknown[]>(
  start: (...args: Args) => Promise<FetchGatehouse>,
  write?: (line: string) => void,
): (...args: Args) => Promise<FetchGatehouse | Response> {
  let gatehouse: Promise<FetchGatehouse> | undefined;
  return async (...args) => {
    gatehouse ??= start(...args).catch((error: unknown) => {
      gatehouse = undefined;
      throw error;
    });
    try {
      return await gatehouse;
    } catch (error) {
      const problems = error instanceof ConfigError ? error.problems : [String(error)];
      consoleLog('error', write).error({ problems }, 'Gatehouse cannot start');
      const failure = new GatehouseError('server_error');
      return Response.json(failure.toJSON(), { status: 500, headers: { 'cache-control': 'no-store' } });
    }
  };
}
