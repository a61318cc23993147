/**
 * What a Temporal cluster and an S3 endpoint need before mlcycle can run on them: the namespace,
 * mlcycle's search attributes in it, and the bucket. `checkCluster` reports what is missing;
 * `initCluster` creates it, idempotently (what exists is left as it is), so it can run on every
 * deploy. The dev server and docker-compose do the same at start; a real cluster has nobody else.
 */
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { msToTs } from '@temporalio/common/lib/time';
import { MlcycleError } from '../errors';
import { s3ErrorName, s3ErrorStatus, wrapS3Error } from '../storage/s3-client';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

export const INIT_HINT = 'run `mlcycle cluster init`';

export interface ClusterReport {
  temporal: { address: string; reachable: boolean; error?: string };
  namespace: { name: string; exists: boolean; retentionDays?: number };
  searchAttributes: { missing: string[]; present: string[] };
  bucket: { name: string; endpoint: string; exists: boolean; error?: string };
  /** What is missing, one line each, empty when ready. */
  missing: string[];
  ready: boolean;
}

export interface ClusterTarget {
  /** Temporal connection (reachability is the caller's: connect fails SERVICE_UNREACHABLE). */
  connection: Connection;
  address: string;
  namespace: string;
  s3: S3Client;
  bucket: string;
  endpoint: string;
}

/** gRPC status codes (as numbers: grpc-js is not a direct dependency). */
const grpcStatus = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, UNAVAILABLE: 14 } as const;

const grpcCode = (err: unknown): number | undefined => (err as { code?: number } | undefined)?.code;

async function namespaceInfo(connection: Connection, namespace: string): Promise<{ exists: boolean; retentionDays?: number }> {
  try {
    const r = await connection.workflowService.describeNamespace({ namespace });
    const seconds = Number(r.config?.workflowExecutionRetentionTtl?.seconds ?? 0);
    return { exists: true, ...(seconds ? { retentionDays: Math.round(seconds / 86_400) } : {}) };
  } catch (err) {
    if (grpcCode(err) === grpcStatus.NOT_FOUND) return { exists: false };
    throw err;
  }
}

async function presentSearchAttributes(connection: Connection, namespace: string): Promise<Set<string>> {
  const r = await connection.operatorService.listSearchAttributes({ namespace });
  return new Set(Object.keys(r.customAttributes ?? {}));
}

async function bucketExists(s3: S3Client, bucket: string, service: string): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (err) {
    if (s3ErrorStatus(err) === 404 || s3ErrorName(err) === 'NotFound' || s3ErrorName(err) === 'NoSuchBucket') return false;
    throw wrapS3Error(err, service, `checking bucket ${bucket}`);
  }
}

export async function checkCluster(t: ClusterTarget): Promise<ClusterReport> {
  const missing: string[] = [];
  const ns = await namespaceInfo(t.connection, t.namespace);
  let present = new Set<string>();
  if (ns.exists) present = await presentSearchAttributes(t.connection, t.namespace);
  else missing.push(`namespace "${t.namespace}" does not exist on ${t.address}`);
  const wanted = ALL_SEARCH_ATTRIBUTES.map((k) => k.name);
  const absent = wanted.filter((n) => !present.has(n));
  if (ns.exists && absent.length > 0) missing.push(`search attributes ${absent.join(', ')} are not defined in namespace "${t.namespace}"`);
  let bucket: ClusterReport['bucket'];
  try {
    bucket = { name: t.bucket, endpoint: t.endpoint, exists: await bucketExists(t.s3, t.bucket, `S3 at ${t.endpoint}`) };
    if (!bucket.exists) missing.push(`bucket "${t.bucket}" does not exist at ${t.endpoint}`);
  } catch (err) {
    bucket = { name: t.bucket, endpoint: t.endpoint, exists: false, error: (err as Error).message };
    missing.push(`bucket "${t.bucket}" could not be checked: ${(err as Error).message}`);
  }
  return {
    temporal: { address: t.address, reachable: true },
    namespace: { name: t.namespace, ...ns },
    searchAttributes: { missing: ns.exists ? absent : wanted, present: wanted.filter((n) => present.has(n)) },
    bucket,
    missing,
    ready: missing.length === 0,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Creates whatever `checkCluster` finds missing. A namespace just registered is not usable at once
 * (the frontend learns of it through its namespace cache, refreshed every few seconds), so adding
 * search attributes to it is retried until it is, for up to `settleMs`.
 */
export async function initCluster(
  t: ClusterTarget & { retentionDays: number; settleMs?: number; log?: (line: string) => void },
): Promise<{ created: string[]; report: ClusterReport }> {
  const log = t.log ?? (() => undefined);
  const created: string[] = [];
  const settleMs = t.settleMs ?? 30_000;

  if (!(await namespaceInfo(t.connection, t.namespace)).exists) {
    try {
      await t.connection.workflowService.registerNamespace({
        namespace: t.namespace,
        workflowExecutionRetentionPeriod: msToTs(t.retentionDays * 86_400_000),
        description: 'mlcycle',
      });
      created.push(`namespace ${t.namespace} (retention ${t.retentionDays}d)`);
      log(`created namespace ${t.namespace} (retention ${t.retentionDays}d)`);
    } catch (err) {
      // Someone else created it in between: that is what we wanted.
      if (grpcCode(err) !== grpcStatus.ALREADY_EXISTS) throw err;
    }
  }

  const deadline = Date.now() + settleMs;
  for (let attempt = 1; ; attempt++) {
    try {
      const present = await presentSearchAttributes(t.connection, t.namespace);
      const absent = ALL_SEARCH_ATTRIBUTES.filter((k) => !present.has(k.name));
      if (absent.length === 0) break;
      await t.connection.operatorService.addSearchAttributes({
        namespace: t.namespace,
        searchAttributes: Object.fromEntries(absent.map((k) => [k.name, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
      });
      created.push(`search attributes ${absent.map((k) => k.name).join(', ')}`);
      log(`added search attributes ${absent.map((k) => k.name).join(', ')} to namespace ${t.namespace}${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
      break;
    } catch (err) {
      const code = grpcCode(err);
      if (code === grpcStatus.ALREADY_EXISTS) continue;
      // NOT_FOUND / UNAVAILABLE while the new namespace propagates: wait and try again.
      const transient = code === grpcStatus.NOT_FOUND || code === grpcStatus.UNAVAILABLE || code === grpcStatus.DEADLINE_EXCEEDED;
      if (!transient || Date.now() > deadline) {
        throw new MlcycleError('SERVICE_UNREACHABLE', `adding search attributes to namespace "${t.namespace}" on ${t.address} failed: ${(err as Error).message}`, { cause: err });
      }
      await sleep(Math.min(2000, 250 * attempt));
    }
  }

  if (!(await bucketExists(t.s3, t.bucket, `S3 at ${t.endpoint}`))) {
    try {
      await t.s3.send(new CreateBucketCommand({ Bucket: t.bucket }));
      created.push(`bucket ${t.bucket}`);
      log(`created bucket ${t.bucket} at ${t.endpoint}`);
    } catch (err) {
      if (s3ErrorName(err) !== 'BucketAlreadyOwnedByYou') throw wrapS3Error(err, `S3 at ${t.endpoint}`, `creating bucket ${t.bucket}`);
    }
  }
  return { created, report: await checkCluster(t) };
}

/**
 * Recognizes the errors Temporal and S3 answer when the cluster was never set up, anywhere in an
 * error's cause chain, and turns them into one line naming the fix. undefined for anything else.
 */
export function explainClusterError(err: unknown, ctx: { namespace?: string; address?: string } = {}): MlcycleError | undefined {
  const texts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const m = (e as { message?: unknown; details?: unknown }).message;
    if (typeof m === 'string') texts.push(m);
    const d = (e as { details?: unknown }).details;
    if (typeof d === 'string') texts.push(d);
  }
  const all = texts.join('\n');
  const sa = /no mapping defined for search attribute (\w+)|search attribute (\w+) is not defined|Namespace has no mapping defined for search attribute (\w+)/i.exec(all);
  if (sa) {
    const name = sa[1] ?? sa[2] ?? sa[3];
    return new MlcycleError('CLUSTER_NOT_READY', `search attribute ${name} is not defined in namespace "${ctx.namespace ?? '?'}"${ctx.address ? ` on ${ctx.address}` : ''}: ${INIT_HINT}`, { cause: err });
  }
  // The client's NamespaceNotFoundError ("Namespace not found: 'x'") and the server's own words
  // ("Namespace x is not found.").
  const ns = /Namespace not found: '([^']+)'/i.exec(all) ?? /Namespace (\S+) (?:is not found|was not found|not found)/i.exec(all);
  if (ns) {
    return new MlcycleError('CLUSTER_NOT_READY', `namespace ${ns[1]!.replace(/[.,]$/, '')} does not exist${ctx.address ? ` on ${ctx.address}` : ''}: ${INIT_HINT}`, { cause: err });
  }
  if (/NoSuchBucket|bucket does not exist/i.test(all)) {
    return new MlcycleError('CLUSTER_NOT_READY', `the bucket does not exist: ${INIT_HINT} (${texts[0] ?? ''})`, { cause: err });
  }
  return undefined;
}
