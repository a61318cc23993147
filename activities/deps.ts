import type { S3Client } from '@aws-sdk/client-s3';
import type { ArtifactStore } from '../src/storage/artifact-store';
import type { WorkerPermissions } from '../src/worker/worker-permissions';

/** What every activity may use; handed in by the worker (or by a test) so activities stay plain functions. */
export interface ActivityDeps {
  store: ArtifactStore;
  s3: S3Client;
  /** Scratch space for downloads and checkpoints; each activity uses its own subfolder. */
  workDir: string;
  queue: 'cpu' | 'gpu';
  /** GPU indices this worker may hand out (empty on a machine without a GPU). */
  gpuDevices: number[];
  /** Where activities read their own secrets (webhook URLs, signing keys); process.env by default. */
  env?: Record<string, string | undefined>;
  /** What this worker lets specs do (commands, data roots, variables for trainers); see worker-permissions.ts. */
  permissions?: WorkerPermissions;
}
