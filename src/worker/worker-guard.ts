/**
 * What keeps a worker process honest under a supervisor (systemd, Kubernetes, a restart policy):
 * it refuses to start against a cluster that is not prepared, and it exits when it has lost its
 * server for longer than a grace period, instead of polling into the void forever.
 */
import type { NativeConnection } from '@temporalio/worker';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { MlcycleError } from '../errors';
import { INIT_HINT } from '../cluster/cluster-setup';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { s3ErrorName, s3ErrorStatus, wrapS3Error } from '../storage/s3-client';

const NOT_FOUND = 5;

/** CLUSTER_NOT_READY naming the fix when the namespace, a search attribute or the bucket is missing. */
export async function preflightWorker(p: { connection: NativeConnection; address: string; namespace: string; s3: S3Client; bucket: string; endpoint: string }): Promise<void> {
  try {
    await p.connection.workflowService.describeNamespace({ namespace: p.namespace });
  } catch (err) {
    if ((err as { code?: number }).code === NOT_FOUND) {
      throw new MlcycleError('CLUSTER_NOT_READY', `namespace ${p.namespace} does not exist on ${p.address}: ${INIT_HINT}`, { cause: err });
    }
    throw new MlcycleError('SERVICE_UNREACHABLE', `Temporal at ${p.address} did not answer: ${(err as Error).message}`, { cause: err });
  }
  const present = new Set(Object.keys((await p.connection.operatorService.listSearchAttributes({ namespace: p.namespace })).customAttributes ?? {}));
  const absent = ALL_SEARCH_ATTRIBUTES.map((k) => k.name).filter((n) => !present.has(n));
  if (absent.length > 0) {
    throw new MlcycleError('CLUSTER_NOT_READY', `search attributes ${absent.join(', ')} are not defined in namespace ${p.namespace} on ${p.address}: ${INIT_HINT}`);
  }
  try {
    await p.s3.send(new HeadBucketCommand({ Bucket: p.bucket }));
  } catch (err) {
    if (s3ErrorStatus(err) === 404 || s3ErrorName(err) === 'NotFound' || s3ErrorName(err) === 'NoSuchBucket') {
      throw new MlcycleError('CLUSTER_NOT_READY', `bucket ${p.bucket} does not exist at ${p.endpoint}: ${INIT_HINT}`);
    }
    throw wrapS3Error(err, `S3 at ${p.endpoint}`, `checking bucket ${p.bucket}`);
  }
}

/**
 * Probes the server every `everyMs`; resolves with an error once it has been unreachable for
 * longer than `graceMs` without a single success in between. `stop()` ends the watch.
 */
export function watchConnection(connection: NativeConnection, address: string, opts: { graceMs: number; everyMs?: number; log?: (line: string) => void }): { lost: Promise<MlcycleError>; stop(): void } {
  const everyMs = opts.everyMs ?? Math.max(500, Math.min(5000, Math.floor(opts.graceMs / 4)));
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const lost = new Promise<MlcycleError>((resolve) => {
    let downSince: number | undefined;
    const probe = async () => {
      if (stopped) return;
      try {
        await connection.withDeadline(Date.now() + Math.min(everyMs, 3000), () => connection.workflowService.getSystemInfo({}));
        if (downSince !== undefined) opts.log?.(`connection to Temporal at ${address} is back after ${Math.round((Date.now() - downSince) / 1000)}s`);
        downSince = undefined;
      } catch (err) {
        const now = Date.now();
        if (downSince === undefined) {
          downSince = now;
          opts.log?.(`lost the connection to Temporal at ${address} (${(err as Error).message.split('\n')[0]}); exiting if it is not back within ${Math.round(opts.graceMs / 1000)}s`);
        } else if (now - downSince > opts.graceMs) {
          resolve(new MlcycleError('SERVICE_UNREACHABLE', `lost the connection to Temporal at ${address} for more than ${Math.round(opts.graceMs / 1000)}s; exiting so a supervisor can restart the worker`));
          return;
        }
      }
      if (!stopped) timer = setTimeout(() => void probe(), everyMs);
    };
    timer = setTimeout(() => void probe(), everyMs);
  });
  return {
    lost,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
