/** Spec durations (`90s`, `10m`, `7d`) in milliseconds; the spec schema has already checked the form. */
export function durationMs(duration: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(duration);
  if (!m) throw new Error(`not a duration: ${duration}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}
