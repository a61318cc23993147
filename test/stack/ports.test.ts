import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freePort, isPortFree } from '../../src/stack/ports';

function ephemeralLow(): number | undefined {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
}

describe('freePort', () => {
  it('hands out distinct, bindable ports outside the kernel ephemeral range', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(ports.length);
    const low = ephemeralLow();
    if (low !== undefined && low - 20000 >= 1000) {
      for (const port of ports) expect(port).toBeLessThan(low);
    }
    for (const port of ports.slice(0, 5)) expect(await isPortFree(port)).toBe(true);
  });
});
