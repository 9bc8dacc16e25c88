const UNIT_MS = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
} as const;

/**
 * Converts a configured duration to milliseconds: a number means seconds, a string carries its
 * unit ("500ms", "30s", "15m", "8h", "1d"). The schema has already checked the shape.
 */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return value * 1000;
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(value);
  if (!match) throw new TypeError(`not a duration: ${value}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
