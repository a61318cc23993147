import fsp from 'node:fs/promises';
import path from 'node:path';
import { startManagedProcess, waitUntilHealthy, type ManagedProcess } from './managed-process';
import { assertPortFree } from './ports';

export interface MinioOptions {
  binary: string;
  host: string;
  port: number;
  consolePort: number;
  dataDir: string;
  logDir: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface RunningMinio {
  endpoint: string;
  consoleUrl: string;
  stop(): Promise<void>;
  /** MinIO's own process, for supervision. */
  process: ManagedProcess;
}

export async function minioLive(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/minio/health/live`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function startMinio(opts: MinioOptions): Promise<RunningMinio> {
  const endpoint = `http://${opts.host}:${opts.port}`;
  await assertPortFree(opts.port, 'MinIO', 'use --minio-port, or MLCYCLE_S3_ENDPOINT to use a running store', opts.host);
  await assertPortFree(opts.consolePort, 'MinIO console', 'use --minio-console-port', opts.host);
  await fsp.mkdir(opts.dataDir, { recursive: true });
  await fsp.mkdir(opts.logDir, { recursive: true });
  const proc = startManagedProcess({
    name: 'minio',
    command: opts.binary,
    args: [
      'server', opts.dataDir,
      '--address', `${opts.host}:${opts.port}`,
      '--console-address', `${opts.host}:${opts.consolePort}`,
      '--quiet',
    ],
    env: {
      ...process.env,
      MINIO_ROOT_USER: opts.accessKeyId,
      MINIO_ROOT_PASSWORD: opts.secretAccessKey,
      // Loopback development server: no phone-home, no update checks.
      MINIO_UPDATE: 'off',
      MINIO_CALLHOME_ENABLE: 'off',
    },
    logPath: path.join(opts.logDir, 'minio.log'),
  });
  try {
    await waitUntilHealthy(proc, 'MinIO', endpoint, () => minioLive(endpoint));
  } catch (err) {
    await proc.stop(2000);
    throw err;
  }
  return { endpoint, consoleUrl: `http://${opts.host}:${opts.consolePort}`, stop: () => proc.stop(), process: proc };
}
