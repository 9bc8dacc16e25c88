/**
 * The fetch runtimes' log: one JSON line per entry on the console (Workers Logs and CloudWatch
 * collect it), in pino's shape (level number, time, msg) so the same queries work on every runtime.
 * What is logged is what the endpoints log on Node; none of it carries a token or a cookie.
 */
import type { Log } from '../http/exchange.js';

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;

export function consoleLog(level: keyof typeof LEVELS, write: (line: string) => void = console.log): Log {
  const threshold = LEVELS[level];
  const at =
    (name: 'debug' | 'info' | 'warn' | 'error') =>
    (first: object | string, message?: string): void => {
      if (LEVELS[name] < threshold) return;
      const bindings = typeof first === 'string' ? {} : serializable(first);
      write(
        JSON.stringify({
          level: LEVELS[name],
          time: Date.now(),
          ...bindings,
          msg: typeof first === 'string' ? first : message,
        }),
      );
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Errors as pino writes them (type, message, stack); the rest as it is. */
function serializable(bindings: object): object {
  const out: Record<string, unknown> = { ...bindings };
  for (const [name, value] of Object.entries(out)) {
    if (value instanceof Error) out[name] = { type: value.name, message: value.message, stack: value.stack };
  }
  return out;
}
