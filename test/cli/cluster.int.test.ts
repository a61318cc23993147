import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { parseEnv } from '../../src/config/env';
import { TEMPORAL_CLI, resolveBinary } from '../../src/stack/binaries';
import { freePort } from '../../src/stack/ports';
import { startTemporalDevServer, type RunningTemporal } from '../../src/stack/temporal-server';
import { BIN, cliEnv, runCliAsync, spawnCli, waitForOutput } from '../helpers/cli';
import { SpecWorkspace } from '../helpers/specs';
import '../stack-context';

/**
 * An operator's first contact with a real cluster: nothing prepared, then `mlcycle cluster init`.
 * Every failure must be one line that names the fix, with no stack trace.
 */

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at /);

describe('mlcycle cluster init / check, and what commands say on an unprepared cluster', () => {
  const stack = inject('stack');
  let connection: Connection;
  let ws: SpecWorkspace;
  const suffix = randomUUID().slice(0, 8);
  const bare = `bare-${suffix}`; // exists, without mlcycle's search attributes
  const fresh = `fresh-${suffix}`; // created by `mlcycle cluster init`
  const bucket = `b-${suffix}`;
  const envFor = (namespace: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    TEMPORAL_ADDRESS: stack.temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    MLCYCLE_S3_ENDPOINT: stack.s3.endpoint,
    MLCYCLE_S3_BUCKET: stack.s3.bucket,
    AWS_ACCESS_KEY_ID: stack.s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: stack.s3.secretAccessKey,
    MLCYCLE_CODEC_KEY_FILE: stack.codecKeyFile,
    ...extra,
  });

  beforeAll(async () => {
    connection = await Connection.connect({ address: stack.temporalAddress });
    await connection.workflowService.registerNamespace({ namespace: bare, workflowExecutionRetentionPeriod: msToTs('1 day') });
    ws = await SpecWorkspace.create({ rows: 200 });
  });
  afterAll(async () => {
    await connection?.close();
    await ws?.remove();
  });

  it('mlcycle run against a namespace without the search attributes: one line naming mlcycle cluster init, non-zero, no stack', async () => {
    const spec = await ws.spec('p.yaml');
    // The namespace was registered a moment ago: the frontend may need a few seconds to know it.
    let r = await runCliAsync(['run', spec], envFor(bare));
    for (let i = 0; i < 10 && /does not exist/.test(r.stderr); i++) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await runCliAsync(['run', spec], envFor(bare));
    }
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/search attribute Mlcycle\w+ is not defined in namespace "bare-\w+".*run `mlcycle cluster init`/);
    noStack(r.stderr);
  });

  it('cluster check reports what is missing, as text and JSON, and exits 2', async () => {
    const text = await runCliAsync(['cluster', 'check'], envFor(bare, { MLCYCLE_S3_BUCKET: bucket }));
    expect(text.code).toBe(2);
    expect(text.stdout).toMatch(/MISSING search attributes: MlcycleModel, MlcycleStage, MlcycleKind, ApprovalStatus missing/);
    expect(text.stdout).toMatch(new RegExp(`MISSING bucket ${bucket}`));
    expect(text.stdout).toContain('run `mlcycle cluster init`');
    const json = await runCliAsync(['cluster', 'check', '--json', '--namespace', `nowhere-${suffix}`], envFor(bare));
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as { ready: boolean; namespace: { exists: boolean }; bucket: { exists: boolean }; missing: string[] };
    expect(report).toMatchObject({ ready: false, namespace: { exists: false }, bucket: { exists: true } });
    expect(report.missing[0]).toMatch(/namespace "nowhere-\w+" does not exist/);
  });

  it('run and status against a namespace that does not exist: one line naming the fix', async () => {
    const spec = await ws.spec('q.yaml');
    for (const args of [['run', spec], ['status', 'some-run']]) {
      const r = await runCliAsync(args, envFor(`absent-${suffix}`));
      if (r.code !== 2) throw new Error(`${args[0]} exited ${r.code}: ${r.stderr}`);
      expect(r.stderr.trim().split('\n'), args[0]).toHaveLength(1);
      expect(r.stderr, args[0]).toMatch(/namespace "?absent-\w+"? does not exist.*run `mlcycle cluster init`/);
      noStack(r.stderr);
    }
  });

  it('a worker started before its namespace exists exits at once with one line naming the fix', async () => {
    const started = Date.now();
    const r = await runCliAsync(['worker', '--queue', 'cpu'], envFor(`missing-${suffix}`), 60_000);
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/namespace missing-\w+ does not exist on .*run `mlcycle cluster init`/);
    noStack(r.stderr);
  }, 60_000);

  it('cluster init creates namespace, search attributes and bucket, idempotently; then check passes and a worker starts', async () => {
    const first = await runCliAsync(['cluster', 'init', '--namespace', fresh, '--retention', '3d'], envFor(fresh, { MLCYCLE_S3_BUCKET: bucket }));
    expect(first.stderr + first.stdout).toContain(`created namespace ${fresh} (retention 3d)`);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/created: namespace .*; search attributes MlcycleModel, MlcycleStage, MlcycleKind, ApprovalStatus; bucket b-/);
    const again = await runCliAsync(['cluster', 'init', '--namespace', fresh, '--json'], envFor(fresh, { MLCYCLE_S3_BUCKET: bucket }));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: [], ready: true, namespace: { exists: true, retentionDays: 3 } });
    const check = await runCliAsync(['cluster', 'check', '--json'], envFor(fresh, { MLCYCLE_S3_BUCKET: bucket }));
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ ready: true, missing: [] });

    const worker = spawnCli(['worker', '--queue', 'cpu', '--shutdown-grace', '2s'], envFor(fresh, { MLCYCLE_S3_BUCKET: bucket }));
    let output = '';
    worker.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    try {
      await waitForOutput(worker, /worker ready on queue cpu/, 60_000);
      const exited = new Promise<[number | null, string | null]>((r) => worker.once('exit', (code, signal) => r([code, signal])));
      worker.kill('SIGTERM');
      expect({ exit: await exited, output }).toEqual({ exit: [0, null], output: expect.stringContaining('worker stopped') });
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
    }
  }, 120_000);

  it('a worker that loses its server for longer than --connection-grace exits 1 and says so', async () => {
    const bin = await resolveBinary(TEMPORAL_CLI, parseEnv({ ...process.env, TEMPORAL_ADDRESS: '' }), { build: false });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-lost-'));
    const port = await freePort();
    let server: RunningTemporal | undefined = await startTemporalDevServer({
      binary: bin.path,
      host: '127.0.0.1',
      port,
      uiPort: 0,
      ui: false,
      dbFile: path.join(dir, 't.db'),
      logDir: dir,
      namespace: 'default',
    });
    const worker = spawnCli(['worker', '--queue', 'cpu', '--connection-grace', '3s', '--shutdown-grace', '1s'], envFor('default', { TEMPORAL_ADDRESS: server.address }));
    let stderr = '';
    worker.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      await waitForOutput(worker, /worker ready/, 60_000);
      const exited = new Promise<number | null>((r) => worker.once('exit', r));
      const stoppedAt = Date.now();
      await server.stop();
      server = undefined;
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 45_000))]);
      expect(code).toBe(1);
      expect(Date.now() - stoppedAt).toBeGreaterThan(3000);
      expect(stderr).toMatch(/lost the connection to Temporal at 127\.0\.0\.1:\d+ \(/);
      expect(stderr).toMatch(/lost the connection to Temporal at .* for more than 3s; exiting/);
      noStack(stderr);
    } finally {
      if (worker.exitCode === null) worker.kill('SIGKILL');
      await server?.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a reader that goes away (| head -1) is a quiet exit, not an EPIPE crash', async () => {
    const child = spawn('bash', ['-c', `"${process.execPath}" "${BIN}" cluster check | (exec 0<&-; true)`], { env: cliEnv(envFor(bare)), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise((r) => child.once('close', r));
    expect(stderr).not.toMatch(/EPIPE|Unhandled|\n\s+at /);
  }, 60_000);
});
