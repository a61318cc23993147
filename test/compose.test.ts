/**
 * Static checks of docker-compose.yml and the Dockerfile: no Docker engine needed. The file is
 * interpolated the way Compose does it (each `${VAR:-default}` takes its default, `$$` is a literal
 * `$`) and then parsed with the `yaml` package. Where the Compose plugin is installed,
 * `docker compose config -q` validates the file against the real Compose schema as well.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MINIO } from '../src/stack/binaries';

const ROOT = path.resolve(__dirname, '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');
const SEARCH_ATTRIBUTES = ['MlcycleModel', 'MlcycleStage', 'ApprovalStatus', 'MlcycleKind'];

type Dict = Record<string, unknown>;

interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Dict | string[];
  ports?: (string | number | Dict)[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: unknown; disable?: boolean };
  volumes?: (string | Dict)[];
  profiles?: string[];
  deploy?: { resources?: { reservations?: { devices?: Dict[] } } };
}

interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

/** Compose interpolation with an empty environment: defaults win, `$$` becomes `$`. */
function interpolate(text: string): string {
  const ESCAPED = '\u0000';
  return text
    .replaceAll('$$', ESCAPED)
    .replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g, (_m, _name: string, op?: string, arg?: string) => {
      if (op === ':-' || op === '-') return arg ?? '';
      if (op === ':?' || op === '?') throw new Error(`required variable ${_name} is unset: ${arg ?? ''}`);
      return '';
    })
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)/g, '')
    .replaceAll(ESCAPED, '$');
}

function loadCompose(): ComposeFile {
  const doc = parse(interpolate(fs.readFileSync(COMPOSE_FILE, 'utf8')), { merge: true }) as ComposeFile;
  return doc;
}

function envOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const i = entry.indexOf('=');
        return i < 0 ? [entry, ''] : [entry.slice(0, i), entry.slice(i + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v == null ? '' : String(v)]));
}

function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on ?? [];
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v?.condition ?? 'service_started']));
}

function commandText(service: Service): string {
  const parts = [service.entrypoint, service.command].flatMap((p) => (p === undefined ? [] : Array.isArray(p) ? p : [p]));
  return parts.join(' ');
}

/** A `sh -c SCRIPT` entrypoint/command pair's script, if the service runs one. */
function shellScript(service: Service): string | undefined {
  const argv = [service.entrypoint, service.command].flatMap((p) => (p === undefined ? [] : Array.isArray(p) ? p : [p]));
  const i = argv.findIndex((a, idx) => /(^|\/)(ba)?sh$/.test(a) && argv[idx + 1] === '-c');
  return i < 0 ? undefined : argv[i + 2];
}

interface PublishedPort {
  hostIp?: string;
  published: number;
  target: number;
}

function publishedPorts(service: Service): PublishedPort[] {
  return (service.ports ?? []).flatMap((p): PublishedPort[] => {
    if (typeof p === 'number') return [];
    if (typeof p === 'object') {
      if (p.published === undefined) return [];
      return [{ hostIp: p.host_ip as string | undefined, published: Number(p.published), target: Number(p.target) }];
    }
    const spec = p.replace(/\/(tcp|udp|sctp)$/, '');
    // [HOST_IP:]PUBLISHED:TARGET — an IPv6 host IP is bracketed.
    const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+):(\d+)$/.exec(spec);
    if (!m) return [];
    return [{ hostIp: m[1], published: Number(m[2]), target: Number(m[3]) }];
  });
}

/** Image references: a tag is required and must not be `latest` (a digest pin also counts). */
function imageTag(image: string): string | undefined {
  if (image.includes('@sha256:')) return image.split('@')[1];
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  return colon < 0 ? undefined : image.slice(colon + 1);
}

function findService(compose: ComposeFile, pred: (name: string, s: Service) => boolean): [string, Service] | undefined {
  return Object.entries(compose.services).find(([name, s]) => pred(name, s));
}

describe('docker-compose.yml', () => {
  let compose: ComposeFile;
  beforeAll(() => {
    compose = loadCompose();
  });

  it('defines the whole stack', () => {
    const names = Object.keys(compose.services);
    for (const name of ['temporal', 'temporal-ui', 'minio', 'worker-cpu', 'worker-gpu']) {
      expect(names, `service ${name}`).toContain(name);
    }
    expect(findService(compose, (_n, s) => /^(postgres|postgresql):/.test(s.image ?? '')), 'a PostgreSQL service').toBeDefined();
    expect(compose.services.temporal?.image).toMatch(/^temporalio\/(server|auto-setup):/);
    expect(compose.services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
  });

  it('builds MinIO from the Go module version mlcycle dev runs, so every environment has one MinIO', () => {
    const minio = compose.services.minio!;
    expect(minio.build).toEqual({ context: 'deploy/minio' });
    expect(imageTag(minio.image ?? '')).toBe(MINIO.version);
    const dockerfile = fs.readFileSync(path.join(ROOT, 'deploy', 'minio', 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain(`ARG MINIO_VERSION=${MINIO.version}`);
    expect(dockerfile).toMatch(/go install [^\n]*github\.com\/minio\/minio@\$\{MINIO_VERSION\}/);
    // The health check runs a program the image has.
    expect(minio.healthcheck?.test).toEqual(['CMD', 'curl', '-fsS', 'http://127.0.0.1:9000/minio/health/live']);
    expect(dockerfile).toMatch(/apt-get install[^\n]*curl/);
  });

  it('points Temporal at PostgreSQL and sets up its schema before the server starts', () => {
    const temporal = compose.services.temporal!;
    const env = envOf(temporal);
    expect(env.DB).toMatch(/^postgres/);
    const [dbName] = findService(compose, (_n, s) => /^(postgres|postgresql):/.test(s.image ?? ''))!;
    expect(env.POSTGRES_SEEDS).toBe(dbName);
    if (temporal.image?.startsWith('temporalio/server:')) {
      // The plain server image does not create schemas: an admin-tools one-shot must, first.
      const schema = findService(compose, (_n, s) => commandText(s).includes('temporal-sql-tool'));
      expect(schema, 'a temporal-sql-tool schema service').toBeDefined();
      const [schemaName, schemaService] = schema!;
      expect(schemaService.image).toMatch(/^temporalio\/admin-tools:/);
      expect(commandText(schemaService)).toMatch(/update-schema/);
      expect(dependsOn(temporal)[schemaName]).toBe('service_completed_successfully');
      expect(dependsOn(schemaService)[dbName]).toBe('service_healthy');
    }
  });

  it('registers the search attributes and the namespace in a one-shot admin-tools service', () => {
    const found = findService(compose, (_n, s) => commandText(s).includes('search-attribute create'));
    expect(found, 'a search-attribute setup service').toBeDefined();
    const [name, service] = found!;
    expect(service.image).toMatch(/^temporalio\/admin-tools:/);
    const text = `${commandText(service)} ${Object.values(envOf(service)).join(' ')}`;
    for (const attr of SEARCH_ATTRIBUTES) expect(text, attr).toContain(attr);
    expect(commandText(service)).toContain('--type Keyword');
    expect(commandText(service)).toContain('namespace create');
    expect(envOf(service).TEMPORAL_ADDRESS ?? commandText(service)).toContain('temporal:7233');
    expect(dependsOn(service).temporal).toBe('service_healthy');
    for (const worker of ['worker-cpu', 'worker-gpu']) {
      expect(dependsOn(compose.services[worker]!)[name], `${worker} waits for ${name}`).toBe('service_completed_successfully');
    }
  });

  it('creates the artifact bucket in a one-shot mc service', () => {
    const found = findService(compose, (_n, s) => /^(quay\.io\/)?minio\/mc:/.test(s.image ?? ''));
    expect(found, 'a minio/mc bucket-init service').toBeDefined();
    const [name, service] = found!;
    const text = commandText(service);
    expect(text).toMatch(/mc mb --ignore-existing|mc mb -p/);
    expect(`${text} ${Object.values(envOf(service)).join(' ')}`).toContain('mlcycle');
    expect(dependsOn(service).minio).toBe('service_healthy');
    for (const worker of ['worker-cpu', 'worker-gpu']) {
      expect(dependsOn(compose.services[worker]!)[name], `${worker} waits for ${name}`).toBe('service_completed_successfully');
    }
  });

  it('publishes Temporal on 7233, the UI on 8233 and the MinIO API on 9000', () => {
    const ports = (name: string) => publishedPorts(compose.services[name]!);
    expect(ports('temporal')).toContainEqual(expect.objectContaining({ published: 7233, target: 7233 }));
    expect(ports('temporal-ui')).toContainEqual(expect.objectContaining({ published: 8233, target: 8080 }));
    expect(ports('minio')).toContainEqual(expect.objectContaining({ published: 9000, target: 9000 }));
    expect(ports('minio')).toContainEqual(expect.objectContaining({ published: 9001, target: 9001 }));
    // No host port is published twice.
    const all = Object.values(compose.services).flatMap((s) => publishedPorts(s).map((p) => p.published));
    expect(new Set(all).size).toBe(all.length);
  });

  it('reserves an NVIDIA GPU for worker-gpu and none for worker-cpu', () => {
    const devices = compose.services['worker-gpu']?.deploy?.resources?.reservations?.devices ?? [];
    expect(devices).toContainEqual(
      expect.objectContaining({ driver: 'nvidia', capabilities: expect.arrayContaining(['gpu']) }),
    );
    expect(compose.services['worker-cpu']?.deploy?.resources?.reservations?.devices).toBeUndefined();
  });

  it('runs the workers from the repo image against the stack', () => {
    const minio = envOf(compose.services.minio!);
    for (const [name, queue] of [
      ['worker-cpu', 'cpu'],
      ['worker-gpu', 'gpu'],
    ] as const) {
      const worker = compose.services[name]!;
      expect(commandText(worker)).toMatch(new RegExp(`bin/mlcycle\\.js worker --queue ${queue}\\b`));
      const env = envOf(worker);
      expect(env.TEMPORAL_ADDRESS, `${name} TEMPORAL_ADDRESS`).toBe('temporal:7233');
      expect(env.MLCYCLE_S3_ENDPOINT, `${name} MLCYCLE_S3_ENDPOINT`).toBe('http://minio:9000');
      expect(env.MLCYCLE_S3_BUCKET ?? 'mlcycle').toBe('mlcycle');
      expect(env.AWS_ACCESS_KEY_ID).toBe(minio.MINIO_ROOT_USER);
      expect(env.AWS_SECRET_ACCESS_KEY).toBe(minio.MINIO_ROOT_PASSWORD);
      expect(worker.build, `${name} builds from the repo`).toBeDefined();
      expect(dependsOn(worker).temporal).toBe('service_healthy');
    }
  });

  it('serves the mlcycle console (`mlcycle ui`) from the repo image on 8300, against the same stack', () => {
    const ui = compose.services.ui!;
    expect(commandText(ui)).toMatch(/bin\/mlcycle\.js ui --host 0\.0\.0\.0 --port 8300\b/);
    const env = envOf(ui);
    expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(env.MLCYCLE_S3_ENDPOINT).toBe('http://minio:9000');
    expect(ui.build).toBeDefined();
    expect(JSON.stringify(ui.ports)).toContain(':8300:8300');
    expect(dependsOn(ui).minio).toBe('service_healthy');
  });

  it('takes credentials from the environment with development defaults', () => {
    const raw = fs.readFileSync(COMPOSE_FILE, 'utf8');
    for (const v of ['POSTGRES_PASSWORD', 'MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD']) {
      expect(raw, v).toMatch(new RegExp(`\\$\\{${v}:-[^}]+\\}`));
    }
    // MinIO refuses a root password under 8 characters.
    expect(envOf(compose.services.minio!).MINIO_ROOT_PASSWORD!.length).toBeGreaterThanOrEqual(8);
  });

  it('names only defined services in depends_on, and healthchecks back every service_healthy', () => {
    const names = new Set(Object.keys(compose.services));
    const conditions = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dep, condition] of Object.entries(dependsOn(service))) {
        expect(names.has(dep), `${name} depends on undefined service ${dep}`).toBe(true);
        expect(conditions.has(condition), `${name} -> ${dep}: ${condition}`).toBe(true);
        if (condition === 'service_healthy') {
          const hc = compose.services[dep]?.healthcheck;
          expect(hc?.test !== undefined && !hc.disable, `${dep} needs a healthcheck for ${name}`).toBe(true);
        }
      }
    }
  });

  it('pins every image to a tag other than latest', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.image === undefined) {
        expect(service.build, `${name} has neither image nor build`).toBeDefined();
        continue;
      }
      const tag = imageTag(service.image);
      expect(tag, `${name}: ${service.image} has no tag`).toBeTruthy();
      expect(tag, `${name}: ${service.image}`).not.toBe('latest');
    }
  });

  it('keeps postgres and minio data in named volumes', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const namedVolume = (service: Service, target: string) =>
      (service.volumes ?? []).some((v) => {
        if (typeof v === 'string') {
          const [source, dest] = v.split(':');
          return declared.includes(source!) && dest === target;
        }
        return v.type === 'volume' && declared.includes(String(v.source)) && v.target === target;
      });
    const [, db] = findService(compose, (_n, s) => /^(postgres|postgresql):/.test(s.image ?? ''))!;
    expect(namedVolume(db, '/var/lib/postgresql/data'), 'postgres data volume').toBe(true);
    // Erasure-coded: four drives, each its own named volume, all of them on MinIO's command line.
    for (const drive of ['/data1', '/data2', '/data3', '/data4']) {
      expect(namedVolume(compose.services.minio!, drive), `minio ${drive} volume`).toBe(true);
      expect(compose.services.minio!.command).toContain(drive);
    }
  });

  it('builds from a Dockerfile that exists', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build === undefined) continue;
      const build = typeof service.build === 'string' ? { context: service.build } : service.build;
      const context = path.resolve(ROOT, build.context ?? '.');
      const dockerfile = path.resolve(context, build.dockerfile ?? 'Dockerfile');
      expect(fs.existsSync(dockerfile), `${name}: ${dockerfile}`).toBe(true);
    }
  });

  it('has shell scripts that parse', (ctx) => {
    const sh = spawnSync('sh', ['-c', 'exit 0']);
    if (sh.error || sh.status !== 0) ctx.skip('no POSIX sh on this machine');
    let checked = 0;
    for (const [name, service] of Object.entries(compose.services)) {
      const script = shellScript(service);
      if (script === undefined) continue;
      const r = spawnSync('sh', ['-n', '-c', script], { encoding: 'utf8' });
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(1);
  });

  it('passes `docker compose config`', (ctx) => {
    const version = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8', timeout: 30_000 });
    if (version.error || version.status !== 0) {
      ctx.skip('the Docker Compose plugin is not installed here (`docker compose version` failed)');
    }
    // `config` only reads and validates the file; it needs no Docker engine.
    const r = spawnSync('docker', ['compose', '-f', COMPOSE_FILE, '--profile', 'gpu', 'config', '-q'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('builds with npm ci on Node 20 in a separate stage and prunes dev dependencies', () => {
    const froms = instructions.filter((l) => /^FROM\s/i.test(l));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/node:20[\w.-]*-bookworm-slim/);
    const run = instructions.filter((l) => /^RUN\s/i.test(l)).join('\n');
    expect(run).toMatch(/npm ci\b/);
    expect(run).toMatch(/npm prune --omit=dev/);
    expect(run.indexOf('npm ci')).toBeLessThan(run.indexOf('npm prune'));
  });

  it('runs the CPU worker as a non-root user', () => {
    const users = instructions.filter((l) => /^USER\s/i.test(l));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|\s|$)/i);
    const cmd = instructions.filter((l) => /^CMD\s/i.test(l)).at(-1);
    expect(cmd).toBeDefined();
    expect(JSON.parse(cmd!.replace(/^CMD\s+/i, ''))).toEqual(['node', 'bin/mlcycle.js', 'worker', '--queue', 'cpu']);
  });

  it('keeps local build outputs and state out of the build context', () => {
    const ignored = fs
      .readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/^\/|\/$/g, ''));
    for (const entry of ['node_modules', 'dist', '.mlcycle', '.git', 'coverage']) {
      expect(ignored, entry).toContain(entry);
    }
  });
});
