import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { WorkerPermissions } from '../../src/worker/worker-permissions';
import { inject } from 'vitest';
import { NativeConnection } from '@temporalio/worker';
import { MlcycleClient } from '../../src/client/mlcycle-client';
import type { S3Settings } from '../../src/config/env';
import { installRuntime } from '../../src/dev/dev-environment';
import { createArtifactStore, type ArtifactStore } from '../../src/storage/artifact-store';
import { createS3Client } from '../../src/storage/s3-client';
import { createMlcycleWorker, type MlcycleWorker } from '../../src/worker/worker';
import { loadKeyring, type Keyring } from '../../src/codec/keyring';
import { parseEnv } from '../../src/config/env';
import '../stack-context';
import { TEST_DATA_ROOTS, TEST_PERMISSIONS } from './test-permissions';

// Re-exported: test files import them from here.
export { TEST_DATA_ROOTS, TEST_PERMISSIONS } from './test-permissions';

export interface TestEnv {
  client: MlcycleClient;
  store: ArtifactStore;
  s3: S3Settings;
  queuePrefix: string;
  /** The suite's payload-encryption keys, as workers and client use them. */
  keyring: Keyring;
  /** Environment that points a CLI or worker process at this test env (same services, queues, prefix). */
  cliEnv: NodeJS.ProcessEnv;
  workers: MlcycleWorker[];
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Real CPU and GPU workers against the shared real stack, isolated per test file: their own task
 * queues (queue prefix) and their own S3 key prefix, so files never see each other's work.
 */
export async function startTestEnv(opts: { workers?: boolean; queues?: readonly ('cpu' | 'gpu')[]; permissions?: WorkerPermissions } = {}): Promise<TestEnv> {
  installRuntime();
  const stack = inject('stack');
  const id = randomUUID().slice(0, 8);
  const queuePrefix = `t-${id}-`;
  const s3: S3Settings = {
    endpoint: stack.s3.endpoint,
    region: stack.s3.region,
    bucket: stack.s3.bucket,
    prefix: `test-${id}/`,
    credentials: { accessKeyId: stack.s3.accessKeyId, secretAccessKey: stack.s3.secretAccessKey },
  };
  const keyring = loadKeyring(parseEnv({ MLCYCLE_CODEC_KEY_FILE: stack.codecKeyFile })) as Keyring;
  const connection = await NativeConnection.connect({ address: stack.temporalAddress });
  const workers: MlcycleWorker[] = [];
  const runs: Promise<void>[] = [];
  if (opts.workers !== false) {
    // `queues` leaves a queue to worker processes the test starts itself.
    for (const queue of opts.queues ?? (['cpu', 'gpu'] as const)) {
      const w = await createMlcycleWorker({ queue, queuePrefix, connection, namespace: stack.namespace, s3, keyring, permissions: opts.permissions ?? TEST_PERMISSIONS, log: () => undefined });
      workers.push(w);
      runs.push(w.run());
    }
  }
  const client = await MlcycleClient.connect({ address: stack.temporalAddress, namespace: stack.namespace, queuePrefix, keyring });
  const s3Client = createS3Client(s3);
  const store = createArtifactStore({ client: s3Client, bucket: s3.bucket, prefix: s3.prefix });
  let workersStopped = false;
  const stopWorkers = async () => {
    if (workersStopped) return;
    workersStopped = true;
    for (const w of workers) w.shutdown();
    await Promise.allSettled(runs);
  };
  return {
    client,
    store,
    s3,
    queuePrefix,
    keyring,
    cliEnv: {
      TEMPORAL_ADDRESS: stack.temporalAddress,
      TEMPORAL_NAMESPACE: stack.namespace,
      MLCYCLE_S3_ENDPOINT: stack.s3.endpoint,
      MLCYCLE_S3_BUCKET: stack.s3.bucket,
      MLCYCLE_S3_PREFIX: s3.prefix,
      AWS_ACCESS_KEY_ID: stack.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
      MLCYCLE_QUEUE_PREFIX: queuePrefix,
      MLCYCLE_CODEC_KEY_FILE: stack.codecKeyFile,
      MLCYCLE_DATA_ROOTS: TEST_DATA_ROOTS.join(path.delimiter),
      MLCYCLE_ALLOWED_COMMANDS: 'node',
    },
    workers,
    stopWorkers,
    async close() {
      await stopWorkers();
      await client.close();
      await connection.close();
      s3Client.destroy();
    },
  };
}
