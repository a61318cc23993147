import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Env } from '../config/env';
import { startLocalStack, type RunningStack, type StackOptions } from '../stack/local-stack';
import { createMlcycleWorker, type MlcycleWorker } from '../worker/worker';

let runtimeInstalled = false;
/**
 * One Runtime per process, installed before any worker: mlcycle handles SIGINT/SIGTERM itself so
 * services are stopped only after the workers have drained.
 */
export function installRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });
}

export interface DevEnvironment {
  stack: RunningStack;
  workers: MlcycleWorker[];
  stop(): Promise<void>;
}

/** The local stack plus one CPU and one GPU worker in this process: what `mlcycle dev` and the demo run. */
export async function startDevEnvironment(
  opts: StackOptions & { workers: boolean; env: Env },
): Promise<DevEnvironment> {
  installRuntime();
  const stack = await startLocalStack(opts);
  const workers: MlcycleWorker[] = [];
  const runs: Promise<void>[] = [];
  let connection: NativeConnection | undefined;
  try {
    if (opts.workers) {
      connection = await NativeConnection.connect({ address: stack.temporal.address });
      for (const queue of ['cpu', 'gpu'] as const) {
        const w = await createMlcycleWorker({
          queue,
          queuePrefix: opts.env.MLCYCLE_QUEUE_PREFIX,
          connection,
          namespace: stack.temporal.namespace,
          s3: stack.s3,
          log: opts.log,
        });
        workers.push(w);
        runs.push(w.run());
      }
    }
  } catch (err) {
    await connection?.close().catch(() => undefined);
    await stack.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    stack,
    workers,
    stop() {
      stopping ??= (async () => {
        for (const w of workers) w.shutdown();
        await Promise.allSettled(runs);
        await connection?.close().catch(() => undefined);
        await stack.stop();
      })();
      return stopping;
    },
  };
}
