/**
 * The production topology on loopback, without Docker: PostgreSQL from Debian, the Temporal server
 * (go.temporal.io/server v1.31.2, as docker-compose.yml runs it) with its schemas created by the
 * SQL tool, MinIO erasure-coded over four folders as a non-root user, and `mlcycle worker`
 * processes. Every piece can be stopped and started again by the test.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseEnv } from '../../src/config/env';
import { MINIO, TEMPORAL_SERVER, TEMPORAL_SQL_TOOL, resolveBinary } from '../../src/stack/binaries';
import { startManagedProcess, waitUntilHealthy, type ManagedProcess } from '../../src/stack/managed-process';
import { minioLive } from '../../src/stack/minio-server';
import { temporalHealthy } from '../../src/stack/temporal-server';
import { BIN, cliEnv } from '../helpers/cli';
import { TEST_DATA_ROOTS } from '../helpers/test-permissions';

const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server@v1.31.2';
const ACCESS = { accessKeyId: 'topology', secretAccessKey: 'topology-secret-0123' };

/**
 * Free ports below 32768: the server stores membership ports in a PostgreSQL smallint, and a port
 * above 32767 stops it (`pq: value "47237" is out of range for type smallint`).
 */
async function lowPorts(n: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < n) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (out.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) out.push(port);
  }
  return out;
}

function userIds(name: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined; // not root: everything runs as us already
  const r = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (r.status !== 0 || g.status !== 0) throw new Error(`user ${name} not found (apt-get install postgresql creates "postgres")`);
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function pgBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions[0]) throw new Error('PostgreSQL is not installed (.ci/run installs it: apt-get install postgresql)');
  return path.join(base, versions[0], 'bin');
}

/** The server's SQL schema files, from the Go module the binaries were built from. */
function schemaDir(): string {
  if (process.env.MLCYCLE_TEMPORAL_SCHEMA_DIR) return process.env.MLCYCLE_TEMPORAL_SCHEMA_DIR;
  const out = execFileSync('go', ['mod', 'download', '-json', TEMPORAL_SERVER_MODULE], { encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' }, cwd: os.tmpdir() });
  return path.join((JSON.parse(out) as { Dir: string }).Dir, 'schema', 'postgresql', 'v12');
}

/** A binary the service user can execute (a root-only cache folder is not traversable by it). */
async function exposed(binary: string, dir: string): Promise<string> {
  const target = path.join(dir, path.basename(binary));
  await fs.link(binary, target).catch(() => fs.copyFile(binary, target));
  await fs.chmod(target, 0o755);
  return target;
}

export interface Topology {
  dir: string;
  temporalAddress: string;
  s3Endpoint: string;
  drives: string[];
  namespace: string;
  bucket: string;
  /** Env for `mlcycle` processes (CLI and workers) against this topology. */
  env(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  stopTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  stopMinio(): Promise<void>;
  startMinio(): Promise<void>;
  /** Replaces one drive folder with an empty one while MinIO runs (a disk that died and was replaced blank). */
  loseDrive(index: number): Promise<void>;
  /** A worker process; `env` adds to the topology's env (a bench gives each worker group its own MLCYCLE_QUEUE_PREFIX). */
  startWorker(name: string, queue: 'cpu' | 'gpu', opts?: { concurrency?: number; env?: NodeJS.ProcessEnv }): ManagedProcess;
  workers: Map<string, ManagedProcess>;
  close(): Promise<void>;
}

export async function startTopology(log: (line: string) => void): Promise<Topology> {
  const env = parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '' });
  const [server, sqlTool, minioBin] = await Promise.all([
    resolveBinary(TEMPORAL_SERVER, env, { log }),
    resolveBinary(TEMPORAL_SQL_TOOL, env, { log }),
    resolveBinary(MINIO, env, { log }),
  ]);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-topology-'));
  await fs.chmod(dir, 0o755);
  const logDir = path.join(dir, 'logs');
  await fs.mkdir(logDir, { recursive: true });
  await fs.chmod(logDir, 0o777);
  const [pgPort, fe, feHttp, feM, hi, hiM, ma, maM, wo, woM, s3Port, consolePort] = await lowPorts(12);
  const procs: ManagedProcess[] = [];

  // ---- PostgreSQL, as the postgres user, data under the test's folder -------------------------
  const pgUser = userIds('postgres');
  const pgData = path.join(dir, 'pg');
  await fs.mkdir(pgData, { mode: 0o700 });
  if (pgUser) await fs.chown(pgData, pgUser.uid, pgUser.gid);
  const pgBin = pgBinDir();
  const init = spawnSync(path.join(pgBin, 'initdb'), ['-D', pgData, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], { encoding: 'utf8', ...(pgUser ?? {}) });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  // fsync off: a test database on a disk five CI jobs share; it is not what is under test here.
  const pg = startManagedProcess({
    name: 'postgres',
    command: path.join(pgBin, 'postgres'),
    args: ['-D', pgData, '-p', String(pgPort), '-k', pgData, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    logPath: path.join(logDir, 'postgres.log'),
    ...(pgUser ?? {}),
  });
  procs.push(pg);
  await waitUntilHealthy(pg, 'PostgreSQL', `127.0.0.1:${pgPort}`, async () => spawnSync(path.join(pgBin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(pgPort)]).status === 0, 60_000);
  log(`postgres up on 127.0.0.1:${pgPort} (as ${pgUser ? 'postgres' : 'this user'})`);

  // ---- schemas with the SQL tool ----------------------------------------------------------------
  const schemas = schemaDir();
  const sql = (db: string, ...args: string[]) => {
    const r = spawnSync(sqlTool.path, ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(pgPort), '-u', 'postgres', '--db', db, ...args], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`temporal-sql-tool ${args.join(' ')} on ${db} failed: ${r.stderr}${r.stdout}`);
  };
  for (const [db, schema] of [['temporal', 'temporal'], ['temporal_visibility', 'visibility']] as const) {
    sql(db, 'create-database');
    sql(db, 'setup-schema', '-v', '0.0');
    sql(db, 'update-schema', '-d', path.join(schemas, schema, 'versioned'));
  }
  log('schemas created (temporal, temporal_visibility)');

  // ---- Temporal server ---------------------------------------------------------------------------
  const temporalAddress = `127.0.0.1:${fe}`;
  const store = (db: string, conns: number) => `
      sql:
        pluginName: postgres12
        databaseName: ${db}
        connectAddr: "127.0.0.1:${pgPort}"
        connectProtocol: tcp
        user: postgres
        password: ""
        maxConns: ${conns}
        maxIdleConns: ${conns}
        maxConnLifetime: 1h`;
  const svc = (grpc: number, membership: number, http?: number) => `
    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  const dynamic = path.join(dir, 'dynamicconfig.yaml');
  // Search attributes added by `mlcycle cluster init` are usable at once (as on the dev server).
  await fs.writeFile(dynamic, 'system.forceSearchAttributesCacheRefreshOnRead:\n  - value: true\n');
  const config = path.join(dir, 'temporal.yaml');
  await fs.writeFile(
    config,
    `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:${store('temporal', 20)}
    visibility:${store('temporal_visibility', 5)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:${svc(fe!, feM!, feHttp)}
  history:${svc(hi!, hiM!)}
  matching:${svc(ma!, maM!)}
  worker:${svc(wo!, woM!)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "${temporalAddress}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: ${dynamic}
  pollInterval: 10s
`,
  );
  let temporal: ManagedProcess | undefined;
  const startTemporal = async () => {
    temporal = startManagedProcess({ name: 'temporal-server', command: server.path, args: ['--config-file', config, '--allow-no-auth', 'start'], logPath: path.join(logDir, 'temporal.log') });
    await waitUntilHealthy(temporal, 'Temporal server', temporalAddress, () => temporalHealthy(temporalAddress), 120_000);
  };
  await startTemporal();
  log(`temporal server ${TEMPORAL_SERVER.version} up on ${temporalAddress} (membership ports ${feM},${hiM},${maM},${woM})`);

  // ---- MinIO over four folders, as nobody -----------------------------------------------------------
  const minioUser = userIds('nobody');
  const drives = [1, 2, 3, 4].map((i) => path.join(dir, `drive${i}`));
  const minioHome = path.join(dir, 'minio-home');
  for (const d of [...drives, minioHome]) {
    await fs.mkdir(d, { recursive: true });
    if (minioUser) await fs.chown(d, minioUser.uid, minioUser.gid);
  }
  const minioExe = await exposed(minioBin.path, dir);
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  let minio: ManagedProcess | undefined;
  const startMinio = async () => {
    minio = startManagedProcess({
      name: 'minio',
      command: minioExe,
      args: ['server', ...drives, '--address', `127.0.0.1:${s3Port}`, '--console-address', `127.0.0.1:${consolePort}`, '--quiet'],
      env: {
        PATH: process.env.PATH,
        HOME: minioHome,
        MINIO_ROOT_USER: ACCESS.accessKeyId,
        MINIO_ROOT_PASSWORD: ACCESS.secretAccessKey,
        // The four folders share the root disk; MinIO refuses root-disk drives unless told that
        // only drives up to this size count as "root" (1 byte: none does).
        MINIO_ROOTDRIVE_THRESHOLD_SIZE: '1',
        MINIO_UPDATE: 'off',
        MINIO_CALLHOME_ENABLE: 'off',
      },
      logPath: path.join(logDir, 'minio.log'),
      ...(minioUser ?? {}),
    });
    await waitUntilHealthy(minio, 'MinIO', s3Endpoint, async () => (await minioLive(s3Endpoint)) && (await fetch(`${s3Endpoint}/minio/health/cluster`).then((r) => r.ok, () => false)), 90_000);
  };
  await startMinio();
  log(`minio erasure-coded over ${drives.length} folders on ${s3Endpoint} (as ${minioUser ? 'nobody' : 'this user'})`);

  const namespace = 'mlcycle-topology';
  const bucket = 'mlcycle-topology';
  const processEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
    cliEnv({
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: namespace,
      MLCYCLE_S3_ENDPOINT: s3Endpoint,
      MLCYCLE_S3_BUCKET: bucket,
      AWS_ACCESS_KEY_ID: ACCESS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: ACCESS.secretAccessKey,
      // Payloads in the server's PostgreSQL are encrypted with the suite's keys.
      MLCYCLE_CODEC_KEY_FILE: path.join(__dirname, '..', 'fixtures', 'codec-keys.json'),
      MLCYCLE_LOG_LEVEL: 'WARN',
      // What the suite's workers may read and run, as the other suites' workers (issue 14's defaults refuse both).
      MLCYCLE_DATA_ROOTS: TEST_DATA_ROOTS.join(path.delimiter),
      MLCYCLE_ALLOWED_COMMANDS: 'node',
      ...extra,
    });
  const workers = new Map<string, ManagedProcess>();

  return {
    dir,
    temporalAddress,
    s3Endpoint,
    drives,
    namespace,
    bucket,
    env: processEnv,
    async stopTemporal() {
      await temporal?.stop(15_000);
    },
    startTemporal,
    async stopMinio() {
      await minio?.stop(10_000);
    },
    startMinio,
    async loseDrive(index: number) {
      // Swapped for an empty folder in one step, as a dead disk replaced by a blank one.
      const d = drives[index]!;
      await fs.rename(d, `${d}.lost`);
      await fs.mkdir(d);
      if (minioUser) await fs.chown(d, minioUser.uid, minioUser.gid);
    },
    workers,
    startWorker(name, queue, opts = {}) {
      const concurrency = opts.concurrency ?? (queue === 'cpu' ? 6 : undefined);
      const w = startManagedProcess({
        name,
        command: process.execPath,
        args: [BIN, 'worker', '--queue', queue, '--connection-grace', '5m', '--shutdown-grace', '5s', ...(concurrency ? ['--concurrency', String(concurrency)] : [])],
        env: processEnv(opts.env),
        logPath: path.join(logDir, `${name}.log`),
      });
      workers.set(name, w);
      return w;
    },
    async close() {
      for (const w of workers.values()) await w.stop(5000);
      await minio?.stop(5000);
      await temporal?.stop(10_000);
      for (const p of procs) await p.stop(10_000);
      if (!process.env.MLCYCLE_KEEP_TOPOLOGY) await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
