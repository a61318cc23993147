/**
 * What several benches share: a throw-away MinIO of the project's pinned build, and one
 * autocannon run in a child process (its CLI with --json, so its own work is not timed with ours).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { EMBEDDED_S3_CREDENTIALS, parseEnv } from '../src/config/env';
import { MINIO, resolveBinary } from '../src/stack/binaries';
import { startMinio, type RunningMinio } from '../src/stack/minio-server';
import { freePort } from '../src/stack/ports';

export { median } from 'simple-statistics';

/** A MinIO on free loopback ports with its data and logs under `dir`, the embedded credentials. */
export async function startBenchMinio(dir: string): Promise<RunningMinio> {
  const env = parseEnv({ ...process.env, MLCYCLE_S3_ENDPOINT: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
  const binary = await resolveBinary(MINIO, env, { log: (l) => process.stderr.write(`${l}\n`) });
  return startMinio({
    binary: binary.path,
    host: '127.0.0.1',
    port: await freePort(),
    consolePort: await freePort(),
    dataDir: path.join(dir, 'minio'),
    logDir: path.join(dir, 'logs'),
    ...EMBEDDED_S3_CREDENTIALS,
  });
}

/** Runs a bench's main: exit 0 when it resolves, its stack and exit 1 when it throws (lingering handles must not keep it alive). */
export function runBench(main: () => Promise<unknown>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : err);
      process.exit(1);
    },
  );
}

/**
 * Makes `cleanup` (stop the bench's services, remove its folder) run once, whether the bench ends
 * or is interrupted: on Ctrl-C or SIGTERM it runs, then the process exits 130.
 */
export function cleanupOnInterrupt(cleanup: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const once = (): Promise<void> => (done ??= cleanup());
  const onSignal = (): void => {
    void once().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return once;
}

export interface LoadResult {
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
}

/** POSTs `body` (JSON) to `url` from `connections` connections for `durationS` seconds. */
export function runAutocannon(url: string, body: string, connections: number, durationS: number): Promise<LoadResult> {
  const cli = require.resolve('autocannon/autocannon.js');
  const args = [cli, '--json', '-c', String(connections), '-d', String(durationS), '-m', 'POST', '-H', 'content-type=application/json', '-b', body, url];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) return reject(new Error(`autocannon exited with ${code}: ${stderr}`));
      try {
        const r = JSON.parse(stdout.trim().split('\n').pop() ?? '') as {
          requests: { average: number; total: number };
          latency: { p50: number; p99: number };
          non2xx: number;
          errors: number;
        };
        resolve({ reqPerSec: r.requests.average, p50Ms: r.latency.p50, p99Ms: r.latency.p99, requests: r.requests.total, non2xx: r.non2xx, errors: r.errors });
      } catch {
        reject(new Error(`autocannon printed no JSON result: ${stdout}\n${stderr}`));
      }
    });
  });
}
