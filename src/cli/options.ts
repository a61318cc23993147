import { InvalidArgumentError } from 'commander';
import { z } from 'zod';

/** Commander argument parsers backed by zod, so a bad flag names itself and the expected form. */
function zodParser<T>(schema: z.ZodType<T>, expected: string) {
  return (value: string): T => {
    const r = schema.safeParse(value);
    if (!r.success) throw new InvalidArgumentError(`expected ${expected}, got "${value}"`);
    return r.data;
  };
}

export const parsePort = zodParser(z.coerce.number().int().min(1).max(65535), 'a port number 1-65535');
export const parsePositiveInt = zodParser(z.coerce.number().int().min(1), 'a whole number >= 1');
export const parseQueue = zodParser(z.enum(['cpu', 'gpu']), 'cpu or gpu');
/** A retention like `30d` (whole days, 1-3650) in days. */
export const parseRetentionDays = zodParser(
  z
    .string()
    .regex(/^\d+d$/)
    .transform((s) => Number(s.slice(0, -1)))
    .pipe(z.number().int().min(1).max(3650)),
  'a retention in whole days such as 30d (1d-3650d)',
);
/** A duration such as `90s`, `5m` or `500ms`, in milliseconds. */
export const parseDurationMs = zodParser(
  z
    .string()
    .regex(/^\d+(ms|s|m|h)$/)
    .transform((s) => {
      const m = /^(\d+)(ms|s|m|h)$/.exec(s)!;
      return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    }),
  'a duration such as 500ms, 30s, 5m or 1h',
);
