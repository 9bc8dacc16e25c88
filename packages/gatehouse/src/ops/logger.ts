/**
 * Logging (pino). Nothing secret may reach a log: credentials are redacted wherever they could
 * appear, and request URLs are logged without their query (the callback's carries code and state).
 */
import type { FastifyServerOptions } from 'fastify';
import type { GatehouseConfig } from '../config/load.js';

const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-origin-verify"]',
  'res.headers["set-cookie"]',
  '*.accessToken',
  '*.refreshToken',
  '*.idToken',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.clientSecret',
  '*.client_secret',
];

export function loggerOptions(config: GatehouseConfig): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level: config.log.level,
    redact: { paths: REDACT, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string }) => ({
        method: req.method,
        path: req.url.split('?', 1)[0],
      }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
  };
}
