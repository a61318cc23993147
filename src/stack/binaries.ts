import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import cliProgress from 'cli-progress';
import { cacheDir, type Env } from '../config/env';
import { MlcycleError } from '../errors';

/** A service binary the local stack needs, and the Go module it can be built from. */
export interface BinarySpec {
  name: 'temporal' | 'minio' | 'temporal-server' | 'temporal-sql-tool';
  service: string;
  envVar: 'MLCYCLE_TEMPORAL_BIN' | 'MLCYCLE_MINIO_BIN' | 'MLCYCLE_TEMPORAL_SERVER_BIN' | 'MLCYCLE_TEMPORAL_SQL_TOOL_BIN';
  goPackage: string;
  version: string;
}

// Pinned versions. temporalio/cli v1.5.1 is the newest release whose go.mod has no replace
// directive, which `go install pkg@version` requires. MinIO publishes no semver tags, so the
// module proxy serves a pseudo-version of its last release commit.
export const TEMPORAL_CLI: BinarySpec = {
  name: 'temporal',
  service: 'Temporal CLI (dev server)',
  envVar: 'MLCYCLE_TEMPORAL_BIN',
  goPackage: 'github.com/temporalio/cli/cmd/temporal',
  version: 'v1.5.1',
};

export const MINIO: BinarySpec = {
  name: 'minio',
  service: 'MinIO',
  envVar: 'MLCYCLE_MINIO_BIN',
  goPackage: 'github.com/minio/minio',
  version: 'v0.0.0-20260212201848-7aac2a2c5b7c',
};

// The production server and its schema tool at the version docker-compose.yml runs
// (temporalio/server and temporalio/admin-tools 1.31.2). go.temporal.io/server's go.mod has no
// replace directive, so `go install pkg@version` builds them like the others.
export const TEMPORAL_SERVER: BinarySpec = {
  name: 'temporal-server',
  service: 'Temporal server',
  envVar: 'MLCYCLE_TEMPORAL_SERVER_BIN',
  goPackage: 'go.temporal.io/server/cmd/server',
  version: 'v1.31.2',
};

export const TEMPORAL_SQL_TOOL: BinarySpec = {
  name: 'temporal-sql-tool',
  service: 'Temporal SQL schema tool',
  envVar: 'MLCYCLE_TEMPORAL_SQL_TOOL_BIN',
  goPackage: 'go.temporal.io/server/cmd/tools/sql',
  version: 'v1.31.2',
};

export type BinarySource = 'env' | 'path' | 'cache' | 'built';

export interface ResolvedBinary {
  path: string;
  source: BinarySource;
  version?: string;
}

export interface ResolveOptions {
  /** Build from the Go module when nothing is found (default true). */
  build?: boolean;
  log?: (line: string) => void;
}

export function cachedBinaryPath(spec: BinarySpec, env: Env): string {
  return path.join(cacheDir(env), 'bin', `${spec.name}-${spec.version}`);
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Finds a binary without building: explicit env var → PATH → per-user cache.
 * An env var that points nowhere is a configuration error, not a reason to fall through.
 */
export function findBinary(spec: BinarySpec, env: Env): ResolvedBinary | undefined {
  const explicit = env[spec.envVar];
  if (explicit) {
    if (!isExecutable(explicit)) {
      throw new MlcycleError('CONFIG_INVALID', `${spec.envVar}: ${explicit} is not an executable file`);
    }
    return { path: explicit, source: 'env' };
  }
  const onPath = findOnPath(spec.name);
  if (onPath) return { path: onPath, source: 'path' };
  const cached = cachedBinaryPath(spec, env);
  if (isExecutable(cached)) return { path: cached, source: 'cache', version: spec.version };
  return undefined;
}

export function goAvailable(): boolean {
  const r = spawnSync('go', ['version'], { stdio: 'ignore' });
  return r.status === 0;
}

export async function resolveBinary(spec: BinarySpec, env: Env, opts: ResolveOptions = {}): Promise<ResolvedBinary> {
  const found = findBinary(spec, env);
  if (found) return found;
  if (opts.build === false) {
    throw notFound(spec, env, 'building was disabled');
  }
  if (!goAvailable()) {
    throw notFound(spec, env, 'Go is not installed, so it cannot be built from source');
  }
  const built = await buildFromGoModule(spec, env, opts.log ?? ((l) => process.stderr.write(`${l}\n`)));
  return { path: built, source: 'built', version: spec.version };
}

function notFound(spec: BinarySpec, env: Env, why: string): MlcycleError {
  return new MlcycleError(
    'BINARY_NOT_FOUND',
    `${spec.service} binary "${spec.name}" not found (${why}). Install Go 1.24+ so mlcycle can build ` +
      `${spec.goPackage}@${spec.version}, put "${spec.name}" on PATH, or set ${spec.envVar} to its path ` +
      `(cache: ${cachedBinaryPath(spec, env)}).`,
  );
}

/**
 * `go install module@version` into a private GOBIN, then an atomic rename into the cache, so two
 * concurrent builds (a test run and `mlcycle dev`) never leave a half-written binary behind.
 */
export async function buildFromGoModule(spec: BinarySpec, env: Env, log: (line: string) => void): Promise<string> {
  const target = cachedBinaryPath(spec, env);
  await fsp.mkdir(path.dirname(target), { recursive: true });
  const gobin = await fsp.mkdtemp(path.join(path.dirname(target), `.build-${spec.name}-`));
  const logPath = `${target}.build.log`;
  const logFile = fs.createWriteStream(logPath);
  const started = Date.now();
  log(`building ${spec.name} ${spec.version} from ${spec.goPackage} with Go (first time only; can take several minutes on 2 cores); log: ${logPath}`);

  const bar = new cliProgress.SingleBar(
    {
      format: `  ${spec.name}: {phase} | {downloads} modules fetched, {compiled} packages compiled | {duration_formatted}`,
      noTTYOutput: true,
      notTTYSchedule: 15_000,
      stream: process.stderr,
      hideCursor: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(1, 0, { phase: 'resolving', downloads: 0, compiled: 0 });
  let downloads = 0;
  let compiled = 0;
  const tail: string[] = [];

  const child = spawn('go', ['install', '-v', '-trimpath', `${spec.goPackage}@${spec.version}`], {
    env: { ...process.env, GOBIN: gobin, CGO_ENABLED: '0', GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onLine = (line: string) => {
    logFile.write(`${line}\n`);
    tail.push(line);
    if (tail.length > 20) tail.shift();
    if (line.startsWith('go: downloading')) {
      downloads += 1;
      bar.update(0, { phase: 'downloading', downloads, compiled });
    } else if (/^[\w.-]+(\/[\w.~-]+)*$/.test(line.trim())) {
      compiled += 1;
      bar.update(0, { phase: 'compiling', downloads, compiled });
    }
  };
  readline.createInterface({ input: child.stdout }).on('line', onLine);
  readline.createInterface({ input: child.stderr }).on('line', onLine);
  const code: number = await new Promise((resolve) => {
    child.on('error', () => resolve(-1));
    child.on('close', (c) => resolve(c ?? -1));
  });
  bar.update(1, { phase: code === 0 ? 'done' : 'failed', downloads, compiled });
  bar.stop();
  logFile.end();

  if (code !== 0) {
    await fsp.rm(gobin, { recursive: true, force: true });
    throw new MlcycleError(
      'BUILD_FAILED',
      `building ${spec.service} (${spec.goPackage}@${spec.version}) failed with exit code ${code}; ` +
        `last output:\n${tail.join('\n')}\nfull log: ${logPath}`,
    );
  }
  const exe = path.join(gobin, path.basename(spec.goPackage));
  await fsp.rename(exe, target);
  await fsp.rm(gobin, { recursive: true, force: true });
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  log(`built ${spec.name} ${spec.version} in ${secs}s → ${target}`);
  await fsp.appendFile(path.join(path.dirname(target), 'build-times.log'), `${new Date().toISOString()} ${spec.name} ${spec.version} ${secs}s\n`);
  return target;
}
