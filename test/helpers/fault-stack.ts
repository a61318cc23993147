import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EMBEDDED_S3_CREDENTIALS, parseEnv, type S3Settings } from '../../src/config/env';
import { MINIO, TEMPORAL_CLI, resolveBinary } from '../../src/stack/binaries';
import { startMinio, type RunningMinio } from '../../src/stack/minio-server';
import { freePort } from '../../src/stack/ports';
import { startTemporalDevServer, type RunningTemporal } from '../../src/stack/temporal-server';
import { createS3Client, ensureBucket } from '../../src/storage/s3-client';
import { childPids } from './cli';

/**
 * A Temporal dev server and a MinIO that a test owns outright, so it may stop and restart them
 * mid-run (the shared stack of test/global-setup.ts must stay up for every other file). Restarts
 * reuse the same port, SQLite file and data folder, as an operator's restart would: history and
 * objects survive, clients and workers reconnect to the same address.
 */
export interface FaultStack {
  readonly dir: string;
  readonly temporalAddress: string;
  readonly namespace: string;
  readonly s3: S3Settings & { endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  temporalUp(): boolean;
  minioUp(): boolean;
  stopTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  /**
   * SIGSTOP MinIO: requests in flight hang instead of failing, so a stop that follows lands while
   * they are outstanding, however short the activity making them. Returns how many were frozen.
   */
  freezeMinio(): number;
  /** SIGCONT what freezeMinio stopped. */
  thawMinio(): void;
  /**
   * freezeMinio for several callers at once: MinIO stays frozen until every hold is released.
   * The returned release is idempotent.
   */
  holdMinio(): () => void;
  /** Graceful stop (a frozen MinIO is woken to receive it). */
  stopMinio(): Promise<void>;
  startMinio(): Promise<void>;
  /** What a worker or CLI process needs to use this stack, under its own queue and key prefix. */
  processEnv(queuePrefix: string): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startFaultStack(opts: { name: string; bucket?: string; s3Prefix?: string }): Promise<FaultStack> {
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '' });
  const [temporalBin, minioBin] = await Promise.all([resolveBinary(TEMPORAL_CLI, env), resolveBinary(MINIO, env)]);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `mlcycle-fault-${opts.name}-`));
  const host = '127.0.0.1';
  const temporalPort = await freePort();
  const minioPort = await freePort();
  const minioConsolePort = await freePort();
  const namespace = 'default';
  const logDir = path.join(dir, 'logs');

  let temporal: RunningTemporal | undefined;
  let minio: RunningMinio | undefined;
  const frozen: number[] = [];
  const dataDir = path.join(dir, 'minio');
  let holds = 0;
  // Looked up once per start: a freeze must be one syscall, not a `ps` away.
  let minioPidsNow: number[] = [];
  const freezeMinio = () => {
    if (!minio) return 0;
    const pids = minioPidsNow.filter((pid) => {
      try {
        process.kill(pid, 'SIGSTOP');
        return true;
      } catch {
        return false;
      }
    });
    frozen.push(...pids);
    return pids.length;
  };
  const thawMinio = () => {
    for (const pid of frozen.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // already gone
      }
    }
  };
  // RunningMinio keeps its pid to itself; this process is its parent, and its arguments name the data folder.
  const minioPids = () => childPids(process.pid, /\bminio\b/).filter((pid) => processArgs(pid).includes(` ${dataDir} `));
  const startT = async () => {
    temporal = await startTemporalDevServer({
      binary: temporalBin.path,
      host,
      port: temporalPort,
      uiPort: 0,
      ui: false,
      dbFile: path.join(dir, 'temporal.db'),
      logDir,
      namespace,
    });
  };
  const startM = async () => {
    minio = await startMinio({
      binary: minioBin.path,
      host,
      port: minioPort,
      consolePort: minioConsolePort,
      dataDir,
      logDir,
      ...EMBEDDED_S3_CREDENTIALS,
    });
    minioPidsNow = minioPids();
  };

  const s3 = {
    endpoint: `http://${host}:${minioPort}`,
    region: 'us-east-1',
    bucket: opts.bucket ?? 'mlcycle',
    prefix: opts.s3Prefix ?? `${opts.name}/`,
    credentials: { ...EMBEDDED_S3_CREDENTIALS },
  };
  try {
    await Promise.all([startT(), startM()]);
    const client = createS3Client(s3);
    try {
      await ensureBucket(client, s3.bucket);
    } finally {
      client.destroy();
    }
  } catch (err) {
    await Promise.allSettled([temporal?.stop(), minio?.stop()]);
    throw err;
  }

  return {
    dir,
    temporalAddress: `${host}:${temporalPort}`,
    namespace,
    s3,
    temporalUp: () => temporal !== undefined,
    minioUp: () => minio !== undefined,
    async stopTemporal() {
      const t = temporal;
      temporal = undefined;
      await t?.stop();
    },
    async startTemporal() {
      if (!temporal) await startT();
    },
    freezeMinio,
    thawMinio,
    holdMinio() {
      if (holds++ === 0) freezeMinio();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--holds === 0) thawMinio();
      };
    },
    async stopMinio() {
      const m = minio;
      minio = undefined;
      // stop() sends SIGTERM before its first await; a stopped process acts on it once continued.
      const stopping = m?.stop();
      thawMinio();
      await stopping;
    },
    async startMinio() {
      if (!minio) await startM();
    },
    processEnv(queuePrefix) {
      return {
        TEMPORAL_ADDRESS: `${host}:${temporalPort}`,
        TEMPORAL_NAMESPACE: namespace,
        MLCYCLE_S3_ENDPOINT: s3.endpoint,
        MLCYCLE_S3_BUCKET: s3.bucket,
        MLCYCLE_S3_REGION: s3.region,
        MLCYCLE_S3_PREFIX: s3.prefix,
        AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        MLCYCLE_QUEUE_PREFIX: queuePrefix,
      };
    },
    async close() {
      thawMinio();
      await Promise.allSettled([temporal?.stop(), minio?.stop()]);
      temporal = undefined;
      minio = undefined;
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

function processArgs(pid: number): string {
  try {
    return `${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')} `;
  } catch {
    return '';
  }
}
