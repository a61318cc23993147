/**
 * Starting the console with what a CLI command has: the environment's Temporal and S3 settings,
 * the payload keys, and a token. Shared by `mlcycle ui`, `mlcycle dev` and the demo.
 */
import path from 'node:path';
import { MlcycleClient } from '../client/mlcycle-client';
import { ensureTokenFile, readTokenFile, validateToken } from '../codec/codec-server';
import type { Keyring } from '../codec/keyring';
import type { Env, S3Settings } from '../config/env';
import { MlcycleError } from '../errors';
import { createArtifactStore } from '../storage/artifact-store';
import { checkS3Reachable, createS3Client } from '../storage/s3-client';
import { isPortFree } from '../stack/ports';
import { createConsoleData } from './console-data';
import { createConsoleServer, DEFAULT_CONSOLE_PORT, type ConsoleServer } from './server';

export interface ConsoleTokenSource {
  token: string;
  /** Where it came from, for the line that tells a person how to sign in. */
  from: string;
}

/**
 * --token-file, else MLCYCLE_CONSOLE_TOKEN, else `<state dir>/console-token` (created owner-only
 * on first use, so a browser stays signed in across restarts, like the codec server's token).
 */
export async function consoleToken(opts: { tokenFile?: string; env: Env; stateDir: string; log?: (line: string) => void }): Promise<ConsoleTokenSource> {
  if (opts.tokenFile) return { token: await readTokenFile(opts.tokenFile), from: opts.tokenFile };
  if (opts.env.MLCYCLE_CONSOLE_TOKEN) return { token: validateToken(opts.env.MLCYCLE_CONSOLE_TOKEN, 'MLCYCLE_CONSOLE_TOKEN'), from: 'MLCYCLE_CONSOLE_TOKEN' };
  const file = path.join(opts.stateDir, 'console-token');
  const made = await ensureTokenFile(file);
  if (made.created) opts.log?.(`console: created sign-in token file ${file} (mode 0600)`);
  return { token: made.token, from: file };
}

export interface RunningConsole {
  url: string;
  tokenFrom: string;
  server: ConsoleServer;
  stop(): Promise<void>;
}

export async function startConsole(opts: {
  address: string;
  namespace: string;
  webUiUrl?: string;
  queuePrefix?: string;
  keyring?: Keyring;
  s3: S3Settings;
  token: ConsoleTokenSource;
  host?: string;
  /** Unset: 8300, or a free port when that is taken (`mlcycle dev`); set: that port or an error. */
  port?: number;
  freePortFallback?: boolean;
  log?: (line: string) => void;
}): Promise<RunningConsole> {
  const host = opts.host ?? '127.0.0.1';
  let port = opts.port ?? DEFAULT_CONSOLE_PORT;
  if (!(await isPortFree(port, host))) {
    if (!opts.freePortFallback) throw new MlcycleError('PORT_IN_USE', `console: port ${port} on ${host} is already in use (use another --port)`);
    port = 0;
  }
  const s3 = createS3Client(opts.s3);
  let client: MlcycleClient | undefined;
  try {
    await checkS3Reachable(s3, opts.s3);
    client = await MlcycleClient.connect({ address: opts.address, namespace: opts.namespace, ...(opts.webUiUrl ? { webUiUrl: opts.webUiUrl } : {}), ...(opts.queuePrefix ? { queuePrefix: opts.queuePrefix } : {}), ...(opts.keyring ? { keyring: opts.keyring } : {}) });
    const store = createArtifactStore({ client: s3, bucket: opts.s3.bucket, prefix: opts.s3.prefix });
    const data = createConsoleData({ client, store, bucket: opts.s3.bucket, prefix: opts.s3.prefix });
    let server = createConsoleServer({ data, token: opts.token.token, host, port, ...(opts.log ? { log: opts.log } : {}) });
    let url: string;
    try {
      ({ url } = await server.start());
    } catch (err) {
      // Taken between the check and the listen (another stack starting at the same moment).
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !opts.freePortFallback) throw err;
      server = createConsoleServer({ data, token: opts.token.token, host, port: 0, ...(opts.log ? { log: opts.log } : {}) });
      ({ url } = await server.start());
    }
    const running = server;
    // In the background: the console answers at once, and its cache fills behind it.
    const t0 = Date.now();
    data.warm().then(
      (n) => opts.log?.(`console: registry of ${n} model(s) read into the cache in ${((Date.now() - t0) / 1000).toFixed(1)} s`),
      (err: unknown) => opts.log?.(`console: warming the cache failed (pages read on demand): ${(err as Error).message}`),
    );
    const c = client;
    return {
      url,
      tokenFrom: opts.token.from,
      server: running,
      async stop() {
        await running.stop();
        await c.close().catch(() => undefined);
        s3.destroy();
      },
    };
  } catch (err) {
    await client?.close().catch(() => undefined);
    s3.destroy();
    throw err;
  }
}
