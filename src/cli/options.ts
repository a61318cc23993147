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
