import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * Every activity heartbeats: while one runs, the worker re-sends its latest heartbeat details (the
 * previous attempt's, until it sends its own) every third of the heartbeat timeout, at most every
 * 5 s. So a step that never heartbeats itself (a download, a profile, a registration) is still
 * seen alive, and the workflows can use short heartbeat timeouts: a worker that dies is noticed in
 * seconds, not after a two-minute silent window. Re-sending the latest details, never empty ones,
 * keeps the checkpoint a training's heartbeats carry.
 */
export const livenessInterceptors: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      const timeoutMs = ctx.info.heartbeatTimeoutMs;
      if (!timeoutMs || ctx.info.isLocal) return next(input);
      // The SDK's Context sends through its injected heartbeatFn; wrap it to learn the latest details.
      const inner = ctx as unknown as { heartbeatFn: (details?: unknown) => void };
      const send = inner.heartbeatFn;
      let latest: unknown = ctx.info.heartbeatDetails;
      inner.heartbeatFn = (details?: unknown) => {
        latest = details;
        send(details);
      };
      const timer = setInterval(() => send(latest), Math.max(500, Math.min(5000, Math.floor(timeoutMs / 3))));
      timer.unref();
      try {
        return await next(input);
      } finally {
        clearInterval(timer);
        inner.heartbeatFn = send;
      }
    },
  },
});
