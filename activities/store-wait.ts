import type { Context } from '@temporalio/activity';
import { isMlcycleError } from '../src/errors';
import type { ContentStore } from '../src/storage/artifact-store';

/**
 * Waits, heartbeating, while the artifact store does not answer. A storage outage is not a failure
 * of the training program: without this, every retry of an attempt that died on the outage fails
 * again at once, and the step's few attempts (1 s doubling backoff) are gone within ~15 s of an
 * outage that may last much longer. `details` are re-sent with each heartbeat so the previous
 * attempt's checkpoint is still what the next attempt resumes from. Returns once the store
 * answers, or after `limitMs` (the caller's own request then fails with the store's error).
 */
export async function waitForStore(ctx: Context, store: ContentStore, probeUri: string, details: unknown, limitMs = 10 * 60_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  for (let delay = 500; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      await store.exists(probeUri);
      return;
    } catch (err) {
      if (!isMlcycleError(err) || err.code !== 'SERVICE_UNREACHABLE' || Date.now() > deadline) return;
    }
    ctx.heartbeat(details);
    // Cancellable: a cancelled or timed-out attempt stops waiting.
    await ctx.sleep(delay);
  }
}
