import type { Context } from '@temporalio/activity';

/**
 * Attempts of data-heavy activities running in this process, by activity type. A cancelled or
 * timed-out attempt leaves this table only once its work has really stopped (engine interrupted,
 * loops left, memory released), so tests and metrics can tell a stopped attempt from a zombie.
 */
const running = new Map<string, number>();

export function runningAttempts(activityType?: string): number {
  if (activityType) return running.get(activityType) ?? 0;
  let n = 0;
  for (const v of running.values()) n += v;
  return n;
}

export interface ActivityPulse {
  /** Aborts when Temporal cancels the attempt (cancel, heartbeat or start-to-close timeout). */
  readonly signal: AbortSignal;
  /** Replaces the details the next timer beat sends (and beats now). */
  beat(details: Record<string, unknown>): void;
  /** Stops the timer and leaves the running table. */
  stop(): void;
}

/**
 * Heartbeats on a timer from the first second of an attempt, whatever the attempt is doing
 * (downloading, a long engine query): the server learns of a dead worker within the heartbeat
 * timeout, and this worker learns of a cancellation or timeout at its next beat, which aborts
 * `signal`. Details always carry the attempt number, so a failed step can report its attempts.
 */
export function startPulse(ctx: Context, initial: Record<string, unknown> = {}, everyMs = 1000): ActivityPulse {
  const type = ctx.info.activityType;
  running.set(type, (running.get(type) ?? 0) + 1);
  let details: Record<string, unknown> = { ...initial, attempt: ctx.info.attempt };
  const send = () => {
    try {
      ctx.heartbeat(details);
    } catch {
      // The attempt is already over (cancelled or completed): nothing to report.
    }
  };
  send();
  const timer = setInterval(send, everyMs);
  timer.unref();
  let stopped = false;
  return {
    signal: ctx.cancellationSignal,
    beat(next) {
      details = { ...next, attempt: ctx.info.attempt };
      send();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      const n = (running.get(type) ?? 1) - 1;
      if (n <= 0) running.delete(type);
      else running.set(type, n);
    },
  };
}

/** Runs `work` with a pulse, always stopping it afterwards. */
export async function withPulse<T>(ctx: Context, initial: Record<string, unknown>, work: (pulse: ActivityPulse) => Promise<T>): Promise<T> {
  const pulse = startPulse(ctx, initial);
  try {
    return await work(pulse);
  } finally {
    pulse.stop();
  }
}
