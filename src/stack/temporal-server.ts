import fsp from 'node:fs/promises';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { MlcycleError } from '../errors';
import { devServerTuningArgs } from './dev-server-tuning';
import { startManagedProcess, waitUntilHealthy, type ManagedProcess } from './managed-process';
import { assertPortFree } from './ports';

export interface TemporalDevServerOptions {
  binary?: string;
  host: string;
  port: number;
  uiPort: number;
  ui: boolean;
  dbFile: string;
  logDir: string;
  namespace: string;
  /** Remote codec server the Web UI asks to decode payloads (--ui-codec-endpoint). */
  codecEndpoint?: string;
  /**
   * The dynamic config and SQLite pragmas of dev-server-tuning.ts (default true). Benches turn it
   * off to measure the stock dev server beside the tuned one.
   */
  tuned?: boolean;
  /** More `start-dev` arguments, after mlcycle's own (benches try settings with these). */
  extraArgs?: string[];
}

export interface RunningTemporal {
  address: string;
  uiUrl?: string;
  namespace: string;
  source: 'binary' | 'sdk-download';
  stop(): Promise<void>;
  /** The server's own process, for supervision (absent on the SDK-download fallback). */
  process?: ManagedProcess;
}

function searchAttributeArgs(): string[] {
  return ALL_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}

export async function temporalHealthy(address: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1000 });
    await connection.healthService.check({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function httpOk(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Starts `temporal server start-dev` with a persistent SQLite file, the Web UI on its own port and
 * mlcycle's search attributes registered. Without a binary it falls back to the SDK's own dev-server
 * download (needs internet; fine on a user's machine).
 */
export async function startTemporalDevServer(opts: TemporalDevServerOptions): Promise<RunningTemporal> {
  const address = `${opts.host}:${opts.port}`;
  await assertPortFree(opts.port, 'Temporal dev server', 'use --temporal-port, or TEMPORAL_ADDRESS to use a running server', opts.host);
  if (opts.ui) await assertPortFree(opts.uiPort, 'Temporal Web UI', 'use --ui-port', opts.host);
  await fsp.mkdir(path.dirname(opts.dbFile), { recursive: true });
  await fsp.mkdir(opts.logDir, { recursive: true });

  if (!opts.binary) return startViaSdkDownload(opts, address);

  const args = [
    'server',
    'start-dev',
    '--ip', opts.host,
    '--port', String(opts.port),
    '--db-filename', opts.dbFile,
    '--log-level', 'warn',
    ...(opts.tuned === false ? [] : devServerTuningArgs()),
    ...(opts.extraArgs ?? []),
    ...searchAttributeArgs(),
    ...(opts.namespace !== 'default' ? ['--namespace', opts.namespace] : []),
    ...(opts.ui ? ['--ui-port', String(opts.uiPort), '--ui-ip', opts.host] : ['--headless']),
    ...(opts.ui && opts.codecEndpoint ? ['--ui-codec-endpoint', opts.codecEndpoint] : []),
  ];
  const proc: ManagedProcess = startManagedProcess({
    name: 'temporal',
    command: opts.binary,
    args,
    logPath: path.join(opts.logDir, 'temporal.log'),
  });
  try {
    await waitUntilHealthy(proc, 'Temporal dev server', address, () => temporalHealthy(address));
    const uiUrl = opts.ui ? `http://${opts.host}:${opts.uiPort}` : undefined;
    if (uiUrl) await waitUntilHealthy(proc, 'Temporal Web UI', uiUrl, () => httpOk(uiUrl), 60_000);
    return { address, uiUrl, namespace: opts.namespace, source: 'binary', stop: () => proc.stop(), process: proc };
  } catch (err) {
    await proc.stop(2000);
    throw err;
  }
}

async function startViaSdkDownload(opts: TemporalDevServerOptions, address: string): Promise<RunningTemporal> {
  // Loaded lazily: @temporalio/testing is only needed on this fallback path.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: opts.host,
        port: opts.port,
        ui: opts.ui,
        uiPort: opts.ui ? opts.uiPort : undefined,
        dbFilename: opts.dbFile,
        namespace: opts.namespace,
        searchAttributes: [...ALL_SEARCH_ATTRIBUTES],
        log: { format: 'pretty', level: 'warn' },
        extraArgs: [...(opts.tuned === false ? [] : devServerTuningArgs()), ...(opts.extraArgs ?? []), ...(opts.ui && opts.codecEndpoint ? ['--ui-codec-endpoint', opts.codecEndpoint] : [])],
      },
    });
    return {
      address,
      uiUrl: opts.ui ? `http://${opts.host}:${opts.uiPort}` : undefined,
      namespace: opts.namespace,
      source: 'sdk-download',
      stop: () => env.teardown(),
    };
  } catch (err) {
    throw new MlcycleError(
      'BINARY_NOT_FOUND',
      `Temporal dev server: no "temporal" binary could be found or built, and the SDK's dev-server ` +
        `download failed (${(err as Error).message}). Install Go 1.24+ (mlcycle builds the CLI once), ` +
        `or install the Temporal CLI and put it on PATH, or set MLCYCLE_TEMPORAL_BIN.`,
      { cause: err },
    );
  }
}
