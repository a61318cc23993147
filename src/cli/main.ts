import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { NativeConnection } from '@temporalio/worker';
import { DEFAULT_S3_ENDPOINT, parseEnv, s3Settings, temporalAddress } from '../config/env';
import { MlcycleError, isMlcycleError } from '../errors';
import { MlcycleClient, rootMessage } from '../client/mlcycle-client';
import { loadPipelineSpec } from '../spec/pipeline-spec';
import { configureRuntime, startDevEnvironment, installRuntime } from '../dev/dev-environment';
import { MINIO, TEMPORAL_CLI, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, resolveBinary } from '../stack/binaries';
import { createMlcycleWorker } from '../worker/worker';
import { workerPermissions, type WorkerPermissions } from '../worker/worker-permissions';
import { writeWorkflowBundle } from '../worker/workflow-bundle';
import { parseDurationMs, parsePort, parsePositiveInt, parseQueue } from './options';
import { preflightWorker, watchConnection } from '../worker/worker-guard';
import { createS3Client } from '../storage/s3-client';
import { RunProgress } from './run-progress';
import { runDemo } from './demo';
import { withClient } from './client-session';
import { addModelCommands } from './models';
import { addApprovalCommands } from './approvals';
import { addServeCommand } from './serve';
import { untilSignal } from './signals';
import { addMonitorCommands } from './monitor';
import { addCodecServerCommands } from './codec-server';
import { addKeysCommands } from './keys';
import { addClusterCommands } from './cluster';
import { explainClusterError } from '../cluster/cluster-setup';
import { addTrustCommands } from './trust';
import { addSchemaCommands } from './schema';
import { addUiCommand } from './ui';
import { loadKeyring } from '../codec/keyring';
import { fatalLine, processLineLogger } from '../observability/logging';
import { parseMetricsAddress } from '../observability/settings';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** What commander hands the actions below (each flag parsed by its own parser). */
interface PermissionFlags {
  allowCommand: string[];
  dataRoot: string[];
  allowEnv: string[];
  metricsAddress?: ReturnType<typeof parseMetricsAddress>;
}
interface DevFlags extends PermissionFlags {
  workers: boolean;
  ui: boolean;
  host: string;
  temporalPort: number;
  uiPort: number;
  minioPort: number;
  minioConsolePort: number;
  stateDir?: string;
  encryption: boolean;
  codecPort?: number;
  console: boolean;
  consolePort?: number;
}
interface WorkerFlags extends PermissionFlags {
  queue: 'cpu' | 'gpu';
  concurrency?: number;
  shutdownGrace: number;
  connectionGrace: number;
}
/** Repeatable options; an empty value is a mistake, not an entry. */
const collect = (value: string, previous: string[] | undefined): string[] => {
  if (value.trim() === '') throw new InvalidArgumentError('expected a non-empty value');
  return [...(previous ?? []), value];
};



export function buildProgram(): Command {
  const program = new Command('mlcycle')
    .description('The ML lifecycle as durable Temporal workflows')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str) });

  program
    .command('dev')
    .description('Start the local stack (Temporal dev server + Web UI, MinIO) and a CPU and a GPU worker')
    .option('--no-workers', 'start only the services')
    .option('--no-ui', 'run the Temporal dev server without its Web UI')
    .option('--host <ip>', 'loopback address to bind', '127.0.0.1')
    .option('--temporal-port <port>', 'Temporal frontend port', parsePort, 7233)
    .option('--ui-port <port>', 'Temporal Web UI port', parsePort, 8233)
    .option('--minio-port <port>', 'MinIO S3 API port', parsePort, 9000)
    .option('--minio-console-port <port>', 'MinIO console port', parsePort, 9001)
    .option('--state-dir <dir>', 'folder for the dev server database, MinIO data and logs (default .mlcycle)')
    .option('--no-encryption', 'write payloads to the history in plaintext (default: AES-256-GCM with the project key file)')
    .option('--codec-port <port>', 'codec server port for the Web UI (default 8888, or a free port when taken)', parsePort)
    .option('--metrics-address <host:port>', "serve the workers' Prometheus metrics at http://<host:port>/metrics (MLCYCLE_METRICS_ADDRESS)", parseMetricsAddress)
    .option('--console-port <port>', 'mlcycle console port (default 8300, or a free port when taken)', parsePort)
    .option('--no-console', 'do not start the mlcycle console')
    .option('--allow-command <program>', "a program the workers' command trainers may run (repeatable; MLCYCLE_ALLOWED_COMMANDS)", collect, [])
    .option('--data-root <dir>', 'a folder the workers may read local data from (repeatable; MLCYCLE_DATA_ROOTS; default the working directory)', collect, [])
    .option('--allow-env <name>', 'a variable command trainers may receive via train.env (repeatable; MLCYCLE_ALLOWED_ENV)', collect, [])
    .action(async (opts: DevFlags) => {
      const env = parseEnv();
      // Installed by startDevEnvironment once its workers connect, not before the stack is up.
      configureRuntime({ metricsAddress: opts.metricsAddress });
      // mlcycle's own lines follow MLCYCLE_LOG_FORMAT like the SDK's (JSON for a log collector).
      const log = processLineLogger();
      const dev = await startDevEnvironment({
        env,
        host: opts.host,
        temporalPort: opts.temporalPort,
        uiPort: opts.uiPort,
        ui: opts.ui,
        minioPort: opts.minioPort,
        minioConsolePort: opts.minioConsolePort,
        stateDir: opts.stateDir,
        workers: opts.workers,
        encryption: opts.encryption,
        codecPort: opts.codecPort,
        console: opts.console,
        consolePort: opts.consolePort,
        permissions: workerPermissions({ allowCommand: opts.allowCommand, dataRoot: opts.dataRoot, allowEnv: opts.allowEnv }),
        log,
      });
      const signal = untilSignal();
      const { temporal, s3 } = dev.stack;
      console.log(`Temporal:   ${temporal.address} (namespace ${temporal.namespace})${temporal.embedded ? '' : ' [external]'}`);
      if (temporal.uiUrl) console.log(`Web UI:     ${temporal.uiUrl}`);
      console.log(`S3:         ${s3.endpoint ?? 'AWS'} bucket ${s3.bucket}${s3.embedded ? ' (MinIO)' : ' [external]'}`);
      console.log(`Encryption: ${dev.keyring ? `AES-256-GCM, key ${dev.keyring.activeId} from ${dev.keyFile ?? dev.keyring.source}` : 'off (payloads in plaintext)'}`);
      if (dev.codec) {
        console.log(`Codec:      ${dev.codec.url} (token ${dev.codec.tokenFile ?? 'from MLCYCLE_CODEC_TOKEN'}; origins ${dev.codec.origins.join(', ') || 'none'})`);
        console.log(`            to see decoded payloads in the Web UI: log in at ${dev.codec.url}/ with the token, then in the UI's Codec Server settings`);
        console.log(`            use your browser setting, endpoint ${dev.codec.url}, "Include cross-origin credentials"`);
      }
      if (dev.console) console.log(`Console:    ${dev.console.url} (sign in with the token in ${dev.console.tokenFrom})`);
      console.log(`Workers:    ${dev.workers.map((w) => `${w.queue}${w.queue === 'gpu' ? ` (${w.gpus.length} GPU)` : ''}`).join(', ') || 'none (--no-workers)'}`);
      console.log('mlcycle dev ready — press Ctrl-C to stop');
      // Supervision: a service that dies takes the whole stack down with a non-zero status (a
      // half-alive stack would accept runs it cannot finish); a supervisor or the user restarts it.
      const outcome = await Promise.race([signal.then(() => undefined), dev.stack.died]);
      if (outcome) {
        log(`${outcome.service} (pid ${outcome.pid ?? '?'}) exited unexpectedly with status ${outcome.code ?? 'unknown'}; stopping mlcycle dev. Last output:\n${outcome.tail || '(none)'}\nlog: ${outcome.logPath}`);
        await dev.stop();
        throw new MlcycleError('SERVICE_UNREACHABLE', `mlcycle dev stopped: ${outcome.service} died (status ${outcome.code ?? 'unknown'}); see ${outcome.logPath}`);
      }
      log('stopping: draining workers, then services…');
      await dev.stop();
      log('stopped');
    });

  program
    .command('worker')
    .description('Run an activity worker for one task queue')
    .addOption(new Option('--queue <queue>', 'task queue to poll: cpu or gpu').argParser(parseQueue).makeOptionMandatory())
    .option('--concurrency <n>', 'activities at once (gpu default: one per GPU)', parsePositiveInt)
    .option('--metrics-address <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics (MLCYCLE_METRICS_ADDRESS)', parseMetricsAddress)
    .option('--shutdown-grace <duration>', 'on SIGTERM/SIGINT, how long in-flight activities may run to completion before they are cancelled (and retried elsewhere)', parseDurationMs, 20_000)
    .option('--connection-grace <duration>', 'exit with status 1 after losing the Temporal server for longer than this', parseDurationMs, 60_000)
    .option('--allow-command <program>', 'a program command trainers may run (repeatable; MLCYCLE_ALLOWED_COMMANDS; default none)', collect, [])
    .option('--data-root <dir>', 'a folder local data may be read from (repeatable; MLCYCLE_DATA_ROOTS; default the working directory)', collect, [])
    .option('--allow-env <name>', 'a variable command trainers may receive when their spec lists it in train.env (repeatable; MLCYCLE_ALLOWED_ENV)', collect, [])
    .action(async (opts: WorkerFlags) => {
      const env = parseEnv();
      const permissions = workerPermissions({ allowCommand: opts.allowCommand, dataRoot: opts.dataRoot, allowEnv: opts.allowEnv });
      installRuntime({ metricsAddress: opts.metricsAddress });
      // mlcycle's own lines follow MLCYCLE_LOG_FORMAT like the SDK's (JSON for a log collector).
      const log = processLineLogger();
      const address = temporalAddress(env);
      let connection: NativeConnection;
      try {
        connection = await NativeConnection.connect({ address });
      } catch (err) {
        throw new MlcycleError('SERVICE_UNREACHABLE', `Temporal server not reachable at ${address} (TEMPORAL_ADDRESS): ${(err as Error).message}`);
      }
      try {
        await runWorker(connection, { ...opts, env, address, log, permissions });
      } finally {
        await connection.close().catch(() => undefined);
      }
    });

  program
    .command('run <spec>')
    .description('Start the training pipeline for a spec file (YAML or JSON)')
    .option('--wait', 'wait for the run to finish; exit 0 only if it completed')
    .option('--json', 'print machine-readable JSON')
    .option('--no-cache', 'do not reuse cached step outputs')
    .action(async (specPath: string, opts: { wait?: boolean; json?: boolean; cache: boolean }) => {
      // The spec is checked before anything is contacted: a bad spec starts nothing.
      const loaded = await loadPipelineSpec(specPath);
      await withClient(async (client) => {
        const { workflowId } = await client.run(loaded, opts.cache ? {} : { cache: false });
        if (!opts.wait) {
          if (opts.json) console.log(JSON.stringify({ workflowId }));
          else {
            console.log(`started ${workflowId}`);
            const link = client.webUiLink(workflowId);
            if (link) console.log(`Web UI: ${link}`);
          }
          return;
        }
        const progress = opts.json ? undefined : new RunProgress();
        const status = await client.waitForRun(workflowId, progress ? { onStatus: (s) => progress.update(s) } : {});
        if (opts.json) console.log(JSON.stringify({ workflowId, status: status.status, ...(status.model ? { model: status.model } : {}), ...(status.error ? { error: status.error } : {}) }));
        else printOutcome(status);
        if (status.status !== 'completed') process.exitCode = 1;
      });
    });

  program
    .command('tune <spec>')
    .description('Run a hyperparameter study for a spec with a tune: section')
    .option('--wait', 'wait for the study to finish')
    .option('--json', 'print machine-readable JSON')
    .action(async (specPath: string, opts: { wait?: boolean; json?: boolean }) => {
      const loaded = await loadPipelineSpec(specPath);
      await withClient(async (client) => {
        const { studyId } = await client.tune(loaded);
        if (!opts.wait) {
          console.log(opts.json ? JSON.stringify({ studyId }) : `started study ${studyId}`);
          return;
        }
        if (!opts.json) console.error(`study ${studyId} running…${client.webUiLink(studyId) ? ` ${client.webUiLink(studyId)}` : ''}`);
        const result = await client.studyResult(studyId).catch((err: unknown) => {
          throw new MlcycleError('TRAINING_FAILED', `study ${studyId} failed: ${rootMessage(err)}`);
        });
        const out = { studyId, trials: result.trials.map((t) => ({ params: t.params, metric: t.metric, state: t.state })), best: result.best ? { params: result.best.params, metric: result.best.metric } : null };
        if (opts.json) console.log(JSON.stringify(out));
        else {
          for (const t of result.trials) console.log(`  trial ${t.id} ${t.state.padEnd(9)} ${t.metric?.toFixed(4) ?? '—'}  ${JSON.stringify(t.params)}`);
          console.log(`best: ${out.best ? `${out.best.metric.toFixed(4)} ${JSON.stringify(out.best.params)}` : 'none'}`);
          console.log(`leaderboard: ${result.leaderboard.htmlUri}`);
        }
      });
    });

  program
    .command('status <workflowId>')
    .description('Show the status of a pipeline run')
    .option('--json', 'print machine-readable JSON')
    .action(async (workflowId: string, opts: { json?: boolean }) => {
      await withClient(async (client) => {
        const status = await client.status(workflowId);
        if (opts.json) console.log(JSON.stringify(status, null, 2));
        else {
          console.log(`${status.workflowId}: ${status.status} (stage ${status.stage})`);
          new RunProgress(process.stdout).update(status);
          if (status.error) console.log(`error: ${status.error}`);
          if (status.webUiUrl) console.log(`Web UI: ${status.webUiUrl}`);
        }
      });
    });

  addModelCommands(program);
  addApprovalCommands(program);
  addServeCommand(program);
  addMonitorCommands(program);
  addCodecServerCommands(program);
  addKeysCommands(program);
  addClusterCommands(program);
  addTrustCommands(program);
  addSchemaCommands(program);
  addUiCommand(program);

  program
    .command('setup')
    .description('Find or build the Temporal CLI and MinIO binaries (cached per user)')
    .option('--temporal-server', 'also the production Temporal server and its SQL schema tool (for test/topology)')
    .action(async (opts: { temporalServer?: boolean }) => {
      const env = parseEnv();
      for (const spec of [TEMPORAL_CLI, MINIO, ...(opts.temporalServer ? [TEMPORAL_SERVER, TEMPORAL_SQL_TOOL] : [])]) {
        const bin = await resolveBinary(spec, env, { log });
        console.log(`${spec.name}: ${bin.path} (${bin.source}${bin.version ? `, ${bin.version}` : ''})`);
      }
    });

  program
    .command('demo')
    .description('Run the whole pipeline end to end on the embedded local stack and a generated dataset')
    .option('--keep-running', 'keep the stack up after the run (Ctrl-C to stop)')
    .option('--auto-approve', 'approve at the gate on your behalf, so the demo runs unattended')
    .option('--state-dir <dir>', 'folder for the dev server database, MinIO data and logs', '.mlcycle/demo')
    .action(async (opts: { keepRunning?: boolean; autoApprove?: boolean; stateDir: string }) => {
      const ok = await runDemo({ env: parseEnv(), stateDir: opts.stateDir, keepRunning: Boolean(opts.keepRunning), autoApprove: Boolean(opts.autoApprove), log, untilSignal });
      if (!ok) process.exitCode = 1;
    });

  program
    .command('bundle-workflows', { hidden: true })
    .description('Write the workflow bundle the workers load (run by npm run build)')
    .requiredOption('--out <file>', 'output file')
    .action(async (opts: { out: string }) => {
      await writeWorkflowBundle(opts.out);
    });

  return program;
}

/**
 * A worker process under a supervisor: refuses an unprepared cluster, exits 1 when its server has
 * been gone longer than the connection grace, drains in-flight activities on a signal.
 */
async function runWorker(
  connection: NativeConnection,
  o: { queue: 'cpu' | 'gpu'; concurrency?: number; shutdownGrace: number; connectionGrace: number; env: ReturnType<typeof parseEnv>; address: string; log: (line: string) => void; permissions: WorkerPermissions },
): Promise<void> {
  const { env, address, log } = o;
  const s3 = s3Settings(env, DEFAULT_S3_ENDPOINT);
  const s3Client = createS3Client(s3);
  try {
    await preflightWorker({ connection, address, namespace: env.TEMPORAL_NAMESPACE, s3: s3Client, bucket: s3.bucket, endpoint: s3.endpoint ?? 'AWS S3' });
  } finally {
    s3Client.destroy();
  }
  const worker = await createMlcycleWorker({
    queue: o.queue,
    queuePrefix: env.MLCYCLE_QUEUE_PREFIX,
    concurrency: o.concurrency,
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    s3,
    keyring: loadKeyring(env),
    shutdownGraceMs: o.shutdownGrace,
    permissions: o.permissions,
    log,
  });
  // Listening for signals before "ready" is said: a supervisor may stop the worker the moment it
  // reads that line, and a signal that came first would kill it without a drain.
  const signalled = untilSignal().then((signal) => ({ kind: 'signal' as const, signal }));
  const running = worker.run();
  log(`worker ready on queue ${o.queue} (${address}, namespace ${env.TEMPORAL_NAMESPACE})`);
  const watch = watchConnection(connection, address, { graceMs: o.connectionGrace, log });
  const outcome = await Promise.race([
    signalled,
    watch.lost.then((err) => ({ kind: 'lost' as const, err })),
    running.then(
      () => ({ kind: 'stopped' as const }),
      (err: unknown) => ({ kind: 'failed' as const, err }),
    ),
  ]);
  watch.stop();
  if (outcome.kind === 'failed') {
    throw explainClusterError(outcome.err, { namespace: env.TEMPORAL_NAMESPACE, address }) ?? new MlcycleError('SERVICE_UNREACHABLE', `worker stopped: ${rootMessage(outcome.err)}`, { cause: outcome.err });
  }
  if (outcome.kind === 'stopped') return;
  log(`${outcome.kind === 'signal' ? outcome.signal : 'connection lost'}: draining in-flight activities (up to ${Math.round(o.shutdownGrace / 1000)}s)…`);
  worker.shutdown();
  // The SDK cancels what is still running at the grace time; a worker whose server is gone may
  // never hear its shutdown confirmed, so the wait is bounded either way. The bound leaves a
  // cancelled command trainer its SIGTERM-to-SIGKILL window (10 s): exiting inside it would leave
  // a program that ignores SIGTERM running, orphaned, beside the attempt retried elsewhere.
  const drained = await Promise.race([
    running.then(() => true, () => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), o.shutdownGrace + 15_000).unref()),
  ]);
  if (outcome.kind === 'lost') {
    log(drained ? 'worker stopped' : 'worker did not stop within the grace time; exiting anyway');
    throw outcome.err;
  }
  if (drained) {
    log('worker stopped');
    return;
  }
  // Something still holds the worker (an activity that ignores cancellation): its handles would
  // keep this process alive however long, so the exit is forced with a status that says so.
  log('worker did not stop within the grace time; exiting anyway with status 1 (what it still ran is retried elsewhere after its heartbeat timeout)');
  process.exitCode = 1;
}

function printOutcome(status: Awaited<ReturnType<MlcycleClient['status']>>): void {
  console.log(`${status.workflowId}: ${status.status}`);
  if (status.model) console.log(`model ${status.model.name} version ${status.model.version}`);
  for (const [name, uri] of Object.entries(status.artifacts ?? {})) console.log(`  ${name}: ${uri}`);
  if (status.error) console.log(`error: ${status.error}`);
  if (status.webUiUrl) console.log(`Web UI: ${status.webUiUrl}`);
}

/** For error lines: which namespace and server a command talked to (best effort, env may be bad). */
function clusterContext(): { namespace?: string; address?: string } {
  try {
    const env = parseEnv();
    return { namespace: env.TEMPORAL_NAMESPACE, address: temporalAddress(env) };
  } catch {
    return {};
  }
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (caught) {
    let err = caught;
    if (err instanceof CommanderError) {
      // Help and version are not errors; everything else commander rejects is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    const explained = explainClusterError(err, clusterContext());
    if (explained && (!isMlcycleError(err) || err.code !== 'CLUSTER_NOT_READY')) err = explained;
    if (isMlcycleError(err)) {
      process.stderr.write(`${fatalLine(err.message, err.code)}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`${fatalLine(`unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)}\n`);
    process.exitCode = 1;
  }
}
