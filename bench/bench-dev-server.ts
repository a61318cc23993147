import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { parseEnv } from '../src/config/env';
import { resolveBinary, TEMPORAL_CLI } from '../src/stack/binaries';
import { freePort } from '../src/stack/ports';
import { startTemporalDevServer, type RunningTemporal } from '../src/stack/temporal-server';

export interface BenchServer {
  server: RunningTemporal;
  /** For workers. */
  nativeConnection: NativeConnection;
  /** For clients. */
  connection: Connection;
  /** The temporary folder holding the database (under `stateDir`). */
  dir: string;
}

/**
 * A fresh headless dev server (mlcycle's search attributes registered; `namespace` created beside
 * `default`) for the length of `body`, torn down afterwards or on Ctrl-C, so a benchmark never
 * leaves a server behind. The runtime is installed as mlcycle's installRuntime() does, without
 * pulling the worker/activities graph into the benchmark.
 */
export async function withBenchDevServer<T>(
  opts: {
    stateDir: string;
    dirPrefix: string;
    namespace: string;
    log: (line: string) => void;
    /** false: the stock dev server, without dev-server-tuning.ts (default true). */
    tuned?: boolean;
    extraArgs?: string[];
  },
  body: (bench: BenchServer) => Promise<T>,
): Promise<T> {
  const { log } = opts;
  Runtime.install({ shutdownSignals: [], logger: new DefaultLogger('WARN') });
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '' });
  const dir = await fs.mkdtemp(path.join(opts.stateDir, opts.dirPrefix));
  let server: RunningTemporal | undefined;
  let connection: Connection | undefined;
  let nativeConnection: NativeConnection | undefined;
  const cleanup = async () => {
    await connection?.close().catch(() => undefined);
    await nativeConnection?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  };
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log('interrupted: stopping the dev server');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const t0 = performance.now();
    const binary = await resolveBinary(TEMPORAL_CLI, env, { log });
    server = await startTemporalDevServer({
      binary: binary.path,
      host: '127.0.0.1',
      port: await freePort(),
      uiPort: 0,
      ui: false,
      dbFile: path.join(dir, 'temporal.db'),
      logDir: path.join(dir, 'logs'),
      namespace: opts.namespace,
      tuned: opts.tuned,
      extraArgs: opts.extraArgs,
    });
    log(`temporal dev server at ${server.address} (${binary.source}) in ${Math.round(performance.now() - t0)} ms`);
    nativeConnection = await NativeConnection.connect({ address: server.address });
    connection = await Connection.connect({ address: server.address });
    return await body({ server, nativeConnection, connection, dir });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}
