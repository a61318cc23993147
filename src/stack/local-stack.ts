import path from 'node:path';
import { s3Settings, stateDir, type Env, type S3Settings } from '../config/env';
import { ensureEmbeddedCredentials, secureStateDir } from './embedded-credentials';
import { MlcycleError } from '../errors';
import { checkS3Reachable, createS3Client, ensureBucket } from '../storage/s3-client';
import { MINIO, TEMPORAL_CLI, resolveBinary } from './binaries';
import { startMinio, type RunningMinio } from './minio-server';
import type { ManagedProcess } from './managed-process';
import { startTemporalDevServer, temporalHealthy, type RunningTemporal } from './temporal-server';

export interface StackOptions {
  env: Env;
  host?: string;
  temporalPort?: number;
  uiPort?: number;
  ui?: boolean;
  minioPort?: number;
  minioConsolePort?: number;
  /** Folder for the dev server's SQLite file, MinIO's data and the service logs. */
  stateDir?: string;
  /** Codec server the embedded Web UI decodes payloads through (see src/codec/codec-server.ts). */
  codecEndpoint?: string;
  log?: (line: string) => void;
}

export interface RunningStack {
  temporal: { address: string; namespace: string; uiUrl?: string; embedded: boolean };
  s3: S3Settings & { endpoint: string | undefined; embedded: boolean };
  stop(): Promise<void>;
  /**
   * Resolves when a service this stack started exits on its own (not through stop()): the
   * supervisor's signal. Never resolves for a stack with nothing embedded.
   */
  died: Promise<ServiceDeath>;
}

export interface ServiceDeath {
  service: string;
  pid: number | undefined;
  code: number | null;
  logPath: string;
  tail: string;
}

function deathOf(service: string, proc: ManagedProcess, stopping: () => boolean): Promise<ServiceDeath> {
  return proc.exited.then((code) =>
    stopping() ? new Promise<ServiceDeath>(() => undefined) : { service, pid: proc.pid, code, logPath: proc.logPath, tail: proc.tail(10) },
  );
}

/**
 * Brings up what the environment does not already point at: the Temporal dev server (with its
 * Web UI) unless TEMPORAL_ADDRESS is set, MinIO unless MLCYCLE_S3_ENDPOINT is set. Either way it
 * checks that both answer and that the bucket exists before it returns.
 */
export async function startLocalStack(opts: StackOptions): Promise<RunningStack> {
  const { env } = opts;
  const host = opts.host ?? '127.0.0.1';
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = opts.stateDir ?? stateDir(env);
  const logDir = path.join(dir, 'logs');
  const stops: Array<() => Promise<void>> = [];
  let stopping = false;
  const deaths: Promise<ServiceDeath>[] = [];
  const stopAll = async () => {
    stopping = true;
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };

  // Owner-only: it holds the dev server's database, MinIO's data and credentials, the codec keys.
  secureStateDir(dir);
  try {
    // Resolve (and if need be build) both binaries before starting anything, so a failed build
    // never leaves a half-started stack.
    const needTemporal = !env.TEMPORAL_ADDRESS;
    const needMinio = !env.MLCYCLE_S3_ENDPOINT;
    // Both builds at once: module downloads of one overlap the other's compile.
    const [temporalBin, minioBin] = await Promise.all([
      needTemporal ? resolveTemporalBinary(env, log) : undefined,
      needMinio ? resolveBinary(MINIO, env, { log }).then((b) => b.path) : undefined,
    ]);

    let temporal: RunningStack['temporal'];
    if (needTemporal) {
      const running: RunningTemporal = await startTemporalDevServer({
        binary: temporalBin,
        host,
        port: opts.temporalPort ?? 7233,
        uiPort: opts.uiPort ?? 8233,
        ui: opts.ui ?? true,
        dbFile: path.join(dir, 'temporal.db'),
        logDir,
        namespace: env.TEMPORAL_NAMESPACE,
        codecEndpoint: opts.codecEndpoint,
      });
      stops.push(() => running.stop());
      if (running.process) deaths.push(deathOf('Temporal dev server', running.process, () => stopping));
      temporal = { address: running.address, namespace: running.namespace, uiUrl: running.uiUrl, embedded: true };
    } else {
      const address = env.TEMPORAL_ADDRESS as string;
      if (!(await temporalHealthy(address))) {
        throw new MlcycleError('SERVICE_UNREACHABLE', `Temporal server not reachable at ${address} (TEMPORAL_ADDRESS)`);
      }
      temporal = { address, namespace: env.TEMPORAL_NAMESPACE, embedded: false };
    }

    let minio: RunningMinio | undefined;
    const embeddedCredentials = minioBin ? ensureEmbeddedCredentials(dir) : undefined;
    if (minioBin && embeddedCredentials) {
      const started = await startMinio({
        binary: minioBin,
        host,
        port: opts.minioPort ?? 9000,
        consolePort: opts.minioConsolePort ?? 9001,
        dataDir: path.join(dir, 'minio'),
        logDir,
        ...embeddedCredentials,
      });
      minio = started;
      stops.push(() => started.stop());
      deaths.push(deathOf('MinIO', started.process, () => stopping));
    }
    const settings = s3Settings(env, minio?.endpoint, dir);
    const client = createS3Client(settings);
    try {
      await checkS3Reachable(client, settings);
      await ensureBucket(client, settings.bucket);
    } finally {
      client.destroy();
    }
    return {
      temporal,
      s3: { ...settings, endpoint: settings.endpoint, embedded: Boolean(minio) },
      stop: stopAll,
      died: deaths.length ? Promise.race(deaths) : new Promise<ServiceDeath>(() => undefined),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** A found or built `temporal`, or undefined to fall back to the SDK's dev-server download. */
async function resolveTemporalBinary(env: Env, log: (line: string) => void): Promise<string | undefined> {
  try {
    return (await resolveBinary(TEMPORAL_CLI, env, { log })).path;
  } catch (err) {
    // A misconfigured MLCYCLE_TEMPORAL_BIN is the user's error to see, not a reason to download.
    if ((err as MlcycleError).code === 'CONFIG_INVALID') throw err;
    log(`${(err as Error).message}\nfalling back to the Temporal SDK's dev-server download`);
    return undefined;
  }
}
