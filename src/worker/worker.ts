import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../activities';
import { failureBoundaryInterceptors } from '../../activities/failures';
import { livenessInterceptors } from '../../activities/liveness';
import type { S3Settings } from '../config/env';
import { createArtifactStore } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { detectGpus } from './gpus';
import { loadWorkflowBundle } from './workflow-bundle';
import { workerObservability } from '../observability/worker';
import { workerDataConverter } from '../codec/data-converter';
import type { Keyring } from '../codec/keyring';
import { workerPermissions, type WorkerPermissions } from './worker-permissions';
import { registerSecret } from '../config/secrets';

export type Queue = 'cpu' | 'gpu';

export interface MlcycleWorkerOptions {
  queue: Queue;
  /** Prefix of the task queue name (MLCYCLE_QUEUE_PREFIX). */
  queuePrefix?: string;
  /** Activities at once; on the gpu queue at most one per GPU unless set explicitly. */
  concurrency?: number;
  connection: NativeConnection;
  namespace: string;
  s3: S3Settings;
  workDir?: string;
  log?: (line: string) => void;
  /** Payload encryption keys; undefined writes plaintext (and fails clearly on encrypted input). */
  keyring?: Keyring;
  /** How long shutdown lets in-flight activities finish before cancelling them (default 20 s). */
  shutdownGraceMs?: number;
  /** What specs may make this worker do; default from MLCYCLE_ALLOWED_COMMANDS / MLCYCLE_DATA_ROOTS / MLCYCLE_ALLOWED_ENV. */
  permissions?: WorkerPermissions;
}

export interface MlcycleWorker {
  worker: Worker;
  queue: Queue;
  gpus: number[];
  /** Resolves when the worker has stopped (after shutdown() or a fatal error). */
  run(): Promise<void>;
  shutdown(): void;
}

/**
 * A worker for one queue. The GPU worker runs at most one activity per GPU so each training can
 * be pinned to its own device; on a machine without a GPU it still polls (trainings then use the
 * CPU) and says so.
 */
export async function createMlcycleWorker(opts: MlcycleWorkerOptions): Promise<MlcycleWorker> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const gpus = opts.queue === 'gpu' ? detectGpus() : [];
  if (opts.queue === 'gpu' && gpus.length === 0) {
    log('gpu worker: no GPU detected on this machine; polling the gpu queue anyway, trainings will run on the CPU');
  }
  const concurrency = opts.concurrency ?? (opts.queue === 'gpu' ? Math.max(1, gpus.length) : Math.max(2, os.cpus().length * 2));
  const workDir = opts.workDir ?? path.join(os.tmpdir(), `mlcycle-${opts.queue}-worker-${process.pid}`);
  await fs.mkdir(workDir, { recursive: true });
  registerWorkerSecrets(opts);
  const s3 = createS3Client(opts.s3);
  const store = createArtifactStore({ client: s3, bucket: opts.s3.bucket, prefix: opts.s3.prefix });
  const activities = createActivities({ store, s3, workDir, queue: opts.queue, gpuDevices: gpus, permissions: opts.permissions ?? workerPermissions() });

  const observability = workerObservability();
  const worker = await Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: `${opts.queuePrefix ?? ''}${opts.queue}`,
    // Both queues run workflow tasks too, so a pipeline keeps moving with only one kind of worker up.
    workflowBundle: await loadWorkflowBundle({ tracing: observability.tracing }),
    activities,
    dataConverter: workerDataConverter(opts.keyring),
    maxConcurrentActivityTaskExecutions: concurrency,
    // Long trainings get time to reach their next checkpoint; what is still running after the
    // grace time is cancelled and retried elsewhere, resuming from that checkpoint.
    shutdownGraceTime: opts.shutdownGraceMs ?? '20s',
    // Heartbeats carry live progress (epoch/step) and the last checkpoint; the SDK's default
    // throttle (up to 80% of the heartbeat timeout) would leave `mlcycle status` seconds behind.
    maxHeartbeatThrottleInterval: '2s',
    // mlcycle's activity metrics and log ids; with tracing, the spans and their workflow sink.
    // The failure boundary is innermost: telemetry and tracing see the failure as Temporal will.
    interceptors: { ...observability.interceptors, activity: [...(observability.interceptors.activity ?? []), livenessInterceptors, failureBoundaryInterceptors] },
    ...(observability.sinks ? { sinks: observability.sinks } : {}),
  });
  let stopped = false;
  return {
    worker,
    queue: opts.queue,
    gpus,
    async run() {
      try {
        await worker.run();
      } finally {
        stopped = true;
        s3.destroy();
        await fs.rm(workDir, { recursive: true, force: true }).catch(() => undefined);
      }
    },
    shutdown() {
      if (!stopped && worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}

/**
 * Secrets this worker holds that no secret-named variable shows (credentials generated for the
 * embedded MinIO, keys read from the codec key file): redacted like the variables' values.
 */
function registerWorkerSecrets(opts: Pick<MlcycleWorkerOptions, 's3' | 'keyring'>): void {
  registerSecret('S3 secret key', opts.s3.credentials?.secretAccessKey);
  for (const [id, key] of opts.keyring?.keys ?? []) {
    registerSecret(`codec key ${id}`, key.toString('base64'));
    registerSecret(`codec key ${id}`, key.toString('hex'));
  }
}
