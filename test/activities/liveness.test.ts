import { describe, expect, it } from 'vitest';
import type { Context } from '@temporalio/activity';
import { livenessInterceptors } from '../../activities/liveness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The SDK's Context as far as the interceptor uses it: info and the injected heartbeat function. */
function fakeContext(info: { heartbeatTimeoutMs?: number; isLocal?: boolean; heartbeatDetails?: unknown }, sent: unknown[]) {
  const ctx = { info: { isLocal: false, ...info }, heartbeatFn: (d?: unknown) => sent.push(d) };
  return ctx as unknown as Context & { heartbeatFn: (d?: unknown) => void };
}

describe('every activity heartbeats (liveness interceptor)', () => {
  it('re-sends the previous attempt\'s details until the activity sends its own, then the latest ones; stops when it ends', async () => {
    const sent: unknown[] = [];
    const ctx = fakeContext({ heartbeatTimeoutMs: 1500, heartbeatDetails: { epoch: 3 } }, sent);
    const interceptor = livenessInterceptors(ctx).inbound!;
    const result = await interceptor.execute!({ args: [], headers: {} }, async () => {
      await sleep(1200); // silent: the interceptor keeps it alive with the checkpoint it resumed from
      ctx.heartbeatFn({ epoch: 4 });
      await sleep(1200);
      return 'done';
    });
    expect(result).toBe('done');
    const before = sent.indexOf(sent.find((d) => (d as { epoch: number }).epoch === 4));
    expect(before).toBeGreaterThanOrEqual(2);
    expect(sent.slice(0, before).every((d) => (d as { epoch: number }).epoch === 3)).toBe(true);
    expect(sent.slice(before).every((d) => (d as { epoch: number }).epoch === 4)).toBe(true);
    expect(sent.length - before).toBeGreaterThanOrEqual(3); // its own + at least two re-sends
    const count = sent.length;
    await sleep(700);
    expect(sent.length).toBe(count);
  });

  it('leaves activities without a heartbeat timeout, and local activities, alone', async () => {
    for (const info of [{}, { heartbeatTimeoutMs: 300, isLocal: true }]) {
      const sent: unknown[] = [];
      const ctx = fakeContext(info, sent);
      await livenessInterceptors(ctx).inbound!.execute!({ args: [], headers: {} }, () => sleep(400).then(() => 'ok'));
      expect(sent).toEqual([]);
    }
  });
});
