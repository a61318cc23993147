import { NativeConnection } from '@temporalio/worker';
import path from 'node:path';
import { stateDir, webUiUrl, type Env } from '../config/env';
import { ensureKeyFile, keyFilePath, loadKeyring, type Keyring } from '../codec/keyring';
import { consoleToken, startConsole, type RunningConsole } from '../console/launch';
import { DEFAULT_CODEC_PORT, createCodecServer, ensureTokenFile, validateToken, type CodecServer } from '../codec/codec-server';
import { MlcycleError } from '../errors';
import { isPortFree } from '../stack/ports';
import { installObservableRuntime } from '../observability/runtime';
import { observabilitySettings } from '../observability/settings';
import { startLocalStack, type RunningStack, type StackOptions } from '../stack/local-stack';
import { createMlcycleWorker, type MlcycleWorker } from '../worker/worker';
import type { WorkerPermissions } from '../worker/worker-permissions';

type RuntimeOverrides = { metricsAddress?: string };
let runtimeInstalled = false;
let configured: RuntimeOverrides = {};

/** Command-line flags for the Runtime a later installRuntime() (e.g. startDevEnvironment's) installs. */
export function configureRuntime(overrides: RuntimeOverrides): void {
  configured = { ...configured, ...overrides };
}

/**
 * One Runtime per process, installed before any worker (the SDK allows only one): logs, metrics
 * endpoint and log format from the environment (MLCYCLE_LOG_FORMAT, MLCYCLE_LOG_LEVEL,
 * MLCYCLE_METRICS_ADDRESS), flags from `overrides` and configureRuntime(). Later calls change
 * nothing. Install it only where a connection follows: a Runtime forwarding Core's logs keeps
 * the process alive until its last connection or worker has closed.
 */
export function installRuntime(overrides: RuntimeOverrides = {}): void {
  if (runtimeInstalled) return;
  const settings = observabilitySettings();
  const metricsAddress = overrides.metricsAddress ?? configured.metricsAddress;
  if (metricsAddress) settings.metricsAddress = metricsAddress;
  installObservableRuntime(settings);
  runtimeInstalled = true;
}

export interface DevEnvironment {
  stack: RunningStack;
  /** The keys payloads are encrypted with; undefined with encryption off. */
  keyring: Keyring | undefined;
  /** The key file a client in another shell needs (MLCYCLE_CODEC_KEY_FILE), when it is a file. */
  keyFile: string | undefined;
  /** The codec server the Web UI decodes through; undefined with encryption off. */
  codec: DevCodecServer | undefined;
  workers: MlcycleWorker[];
  /** The mlcycle console (`mlcycle ui`) over this stack; undefined with `console: false`. */
  console: { url: string; tokenFrom: string } | undefined;
  stop(): Promise<void>;
}

export interface DevCodecServer {
  url: string;
  /** Browser origins it answers (the Web UI's). */
  origins: string[];
  /** Where the token is, or undefined when it came from MLCYCLE_CODEC_TOKEN. */
  tokenFile: string | undefined;
}

/** The local stack plus one CPU and one GPU worker in this process: what `mlcycle dev` and the demo run. */
export async function startDevEnvironment(
  opts: StackOptions & {
    workers: boolean;
    env: Env;
    encryption?: boolean;
    /** Codec server port; unset: 8888, or a free port when 8888 is taken. */
    codecPort?: number;
    /** What the workers let specs do (`--allow-command`, `--data-root`, `--allow-env`). */
    permissions?: WorkerPermissions;
    /** The console; default on. */
    console?: boolean;
    /** Console port; unset: 8300, or a free port when 8300 is taken. */
    consolePort?: number;
  },
): Promise<DevEnvironment> {
  const { keyring, keyFile } = await devKeyring(opts);
  // Before the stack: the dev server's Web UI is told the codec endpoint when it starts.
  const codec = keyring ? await startDevCodecServer({ ...opts, keyring }) : undefined;
  let stack: RunningStack;
  try {
    stack = await startLocalStack({ ...opts, codecEndpoint: codec?.info.url });
  } catch (err) {
    await codec?.server.stop();
    throw err;
  }
  const workers: MlcycleWorker[] = [];
  const runs: Promise<void>[] = [];
  let connection: NativeConnection | undefined;
  let consoleServer: RunningConsole | undefined;
  try {
    if (opts.workers) {
      installRuntime();
      connection = await NativeConnection.connect({ address: stack.temporal.address });
      for (const queue of ['cpu', 'gpu'] as const) {
        const w = await createMlcycleWorker({
          queue,
          queuePrefix: opts.env.MLCYCLE_QUEUE_PREFIX,
          connection,
          namespace: stack.temporal.namespace,
          s3: stack.s3,
          keyring,
          ...(opts.permissions ? { permissions: opts.permissions } : {}),
          log: opts.log,
        });
        workers.push(w);
        runs.push(w.run());
      }
    }
    if (opts.console !== false) {
      const dir = opts.stateDir ? path.resolve(opts.stateDir) : stateDir(opts.env);
      consoleServer = await startConsole({
        address: stack.temporal.address,
        namespace: stack.temporal.namespace,
        ...(stack.temporal.uiUrl ? { webUiUrl: stack.temporal.uiUrl } : {}),
        queuePrefix: opts.env.MLCYCLE_QUEUE_PREFIX,
        ...(keyring ? { keyring } : {}),
        s3: stack.s3,
        token: await consoleToken({ env: opts.env, stateDir: dir, ...(opts.log ? { log: opts.log } : {}) }),
        host: opts.host ?? '127.0.0.1',
        ...(opts.consolePort !== undefined ? { port: opts.consolePort } : {}),
        freePortFallback: opts.consolePort === undefined,
        ...(opts.log ? { log: opts.log } : {}),
      });
    }
  } catch (err) {
    for (const w of workers) w.shutdown();
    await Promise.allSettled(runs);
    await connection?.close().catch(() => undefined);
    await stack.stop();
    await codec?.server.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  return {
    stack,
    keyring,
    keyFile,
    codec: codec?.info,
    workers,
    console: consoleServer ? { url: consoleServer.url, tokenFrom: consoleServer.tokenFrom } : undefined,
    stop() {
      stopping ??= (async () => {
        await consoleServer?.stop();
        for (const w of workers) w.shutdown();
        await Promise.allSettled(runs);
        await connection?.close().catch(() => undefined);
        await stack.stop();
        await codec?.server.stop();
      })();
      return stopping;
    },
  };
}

/**
 * Encryption is on by default in development too, so what a developer sees in the Web UI is what
 * production looks like: without configured keys, a key file is created in the state folder.
 */
async function devKeyring(opts: { env: Env; stateDir?: string; encryption?: boolean; log?: (line: string) => void }): Promise<{ keyring: Keyring | undefined; keyFile: string | undefined }> {
  if (opts.encryption === false) return { keyring: undefined, keyFile: undefined };
  const { env } = opts;
  if (env.MLCYCLE_CODEC_KEYS) return { keyring: loadKeyring(env), keyFile: undefined };
  const keyFile = keyFilePath(env, opts.stateDir ? { stateDir: opts.stateDir } : {});
  const { created } = await ensureKeyFile(keyFile);
  if (created) opts.log?.(`codec: created payload encryption key file ${keyFile}`);
  return { keyring: loadKeyring({ ...env, MLCYCLE_CODEC_KEY_FILE: keyFile }), keyFile };
}

/**
 * The codec server beside the dev stack, so the Web UI can show decoded payloads to whoever holds
 * the token (see src/codec/codec-server.ts for how a browser is authorized). The token comes from
 * MLCYCLE_CODEC_TOKEN or a per-project file that outlives restarts, as the browser's cookie does.
 */
async function startDevCodecServer(
  opts: StackOptions & { env: Env; keyring: Keyring; codecPort?: number },
): Promise<{ server: CodecServer; info: DevCodecServer }> {
  const { env } = opts;
  const host = opts.host ?? '127.0.0.1';
  const dir = opts.stateDir ? path.resolve(opts.stateDir) : stateDir(env);
  let token: string;
  let tokenFile: string | undefined;
  if (env.MLCYCLE_CODEC_TOKEN) {
    token = validateToken(env.MLCYCLE_CODEC_TOKEN, 'MLCYCLE_CODEC_TOKEN');
  } else {
    tokenFile = path.join(dir, 'codec-token');
    const made = await ensureTokenFile(tokenFile);
    token = made.token;
    if (made.created) opts.log?.(`codec: created codec server token file ${tokenFile}`);
  }
  const uiUrl = env.TEMPORAL_ADDRESS ? webUiUrl(env) : opts.ui === false ? undefined : `http://${host}:${opts.uiPort ?? 8233}`;
  const origins = uiUrl ? [uiUrl] : [];
  let port = opts.codecPort ?? DEFAULT_CODEC_PORT;
  if (!(await isPortFree(port, host))) {
    if (opts.codecPort !== undefined) {
      throw new MlcycleError('PORT_IN_USE', `codec server: port ${port} on ${host} is already in use (use another --codec-port)`);
    }
    port = 0;
  }
  const server = createCodecServer({ keyring: opts.keyring, token, origins, host, port, uiUrl, log: opts.log });
  const { url } = await server.start();
  return { server, info: { url, origins, tokenFile } };
}
