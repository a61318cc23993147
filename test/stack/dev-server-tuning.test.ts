import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEV_SERVER_DYNAMIC_CONFIG, devServerTuningArgs } from '../../src/stack/dev-server-tuning';

describe('dev server tuning', () => {
  it('passes every dynamic config value as KEY=JSON and every pragma as PRAGMA=VALUE', () => {
    const args = devServerTuningArgs();
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < args.length; i += 2) pairs.push([args[i]!, args[i + 1]!]);
    const dynamic = Object.fromEntries(
      pairs
        .filter(([flag]) => flag === '--dynamic-config-value')
        .map(([, kv]) => {
          const eq = kv.indexOf('=');
          // start-dev parses the value as JSON: a bare string would be refused at start.
          return [kv.slice(0, eq), JSON.parse(kv.slice(eq + 1)) as unknown];
        }),
    );
    expect(dynamic).toEqual(DEV_SERVER_DYNAMIC_CONFIG);
    expect(dynamic['history.transferProcessorMaxPollRPS']).toBeGreaterThan(20);
    expect(dynamic['system.enableActivityEagerExecution']).toBe(true);
    const pragmas = pairs.filter(([flag]) => flag === '--sqlite-pragma').map(([, kv]) => kv);
    expect(pragmas).toEqual(['journal_mode=wal', 'synchronous=normal']);
    expect(pairs.every(([flag]) => flag === '--dynamic-config-value' || flag === '--sqlite-pragma')).toBe(true);
  });

  it('gives the production dynamic config the same values', () => {
    const file = path.join(__dirname, '..', '..', 'deploy', 'temporal', 'dynamicconfig.yaml');
    const prod = parse(readFileSync(file, 'utf8')) as Record<string, Array<{ value: unknown }>>;
    for (const [key, value] of Object.entries(DEV_SERVER_DYNAMIC_CONFIG)) {
      expect(prod[key]?.[0]?.value, key).toEqual(value);
    }
  });
});
