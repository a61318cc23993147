import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlcycleClient } from '../../src/client/mlcycle-client';
import type { RunStatus } from '../../src/client/run-status';
import { loadKeyring, type Keyring } from '../../src/codec/keyring';
import { parseEnv } from '../../src/config/env';
import { createModelRegistry } from '../../src/registry/model-registry';
import { loadPipelineSpec } from '../../src/spec/pipeline-spec';
import { createArtifactStore, type ArtifactStore } from '../../src/storage/artifact-store';
import { createS3Client } from '../../src/storage/s3-client';
import type { MonitorCheckInput, MonitorCheckResult } from '../../workflows/monitor';
import { runCliAsync } from '../helpers/cli';
import { SpecWorkspace } from '../helpers/specs';
import { startTopology, type Topology } from './topology-stack';

/**
 * The production topology as a tested path (see topology-stack.ts): the lifecycle end to end,
 * then 30 runs at once through a worker kill, a Temporal server restart, a MinIO outage and a
 * lost drive. Every fault and its outcome is logged with a `[topology]` prefix.
 */

const KEY_FILE = path.join(__dirname, '..', 'fixtures', 'codec-keys.json');
const say = (line: string) => console.log(`[topology] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('production topology: PostgreSQL-backed Temporal server, erasure-coded MinIO, 2 cpu + 1 gpu workers', () => {
  let topo: Topology;
  let client: MlcycleClient;
  let ws: SpecWorkspace;
  let store: ArtifactStore;
  let keyring: Keyring;

  /** Status through restarts: a poll that fails while the server is down is tried again. */
  async function settle(workflowId: string, timeoutMs: number, until?: (s: RunStatus) => boolean): Promise<RunStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const s = await client.status(workflowId);
        if (s.status !== 'running' && s.status !== 'awaiting_approval') return s;
        if (until?.(s)) return s;
      } catch (err) {
        last = err;
      }
      await sleep(1000);
    }
    throw new Error(`${workflowId} did not settle within ${timeoutMs} ms${last ? ` (last error: ${(last as Error).message})` : ''}`);
  }

  async function waitWorkerReady(name: string): Promise<void> {
    const w = topo.workers.get(name)!;
    // Generous: three workers compile the sources at once on a loaded 2-core machine.
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      if (w.hasExited()) throw new Error(`worker ${name} exited: ${w.tail()}`);
      if (/worker ready/.test(w.tail(40))) return;
      await sleep(250);
    }
    throw new Error(`worker ${name} not ready: ${w.tail()}`);
  }

  beforeAll(async () => {
    const started = Date.now();
    topo = await startTopology(say);
    const env = topo.env({ MLCYCLE_CODEC_KEY_FILE: KEY_FILE });
    const init = await runCliAsync(['cluster', 'init', '--retention', '1d'], env, 120_000);
    say(`mlcycle cluster init → exit ${init.code}: ${init.stdout.trim().split('\n').at(-1)}`);
    if (init.code !== 0) throw new Error(`cluster init failed: ${init.stderr}${init.stdout}`);
    keyring = loadKeyring(parseEnv({ MLCYCLE_CODEC_KEY_FILE: KEY_FILE })) as Keyring;
    for (const [name, queue] of [['cpu-1', 'cpu'], ['cpu-2', 'cpu'], ['gpu-1', 'gpu']] as const) topo.startWorker(name, queue);
    for (const name of topo.workers.keys()) await waitWorkerReady(name);
    client = await MlcycleClient.connect({ address: topo.temporalAddress, namespace: topo.namespace, keyring });
    const s3 = createS3Client({ endpoint: topo.s3Endpoint, region: 'us-east-1', bucket: topo.bucket, prefix: '', credentials: { accessKeyId: 'topology', secretAccessKey: 'topology-secret-0123' } });
    store = createArtifactStore({ client: s3, bucket: topo.bucket, prefix: '' });
    ws = await SpecWorkspace.create({ rows: 600 });
    say(`topology up in ${Math.round((Date.now() - started) / 1000)}s: workers ${[...topo.workers.keys()].join(', ')}`);
  }, 600_000);

  afterAll(async () => {
    await client?.close();
    await topo?.close();
    await ws?.remove();
  });

  it('runs a pipeline through a signed approval gate to a direct deployment, then a monitor check', async () => {
    const spec = await ws.spec('gated.yaml', (d) => {
      d.name = 'topo';
      d.train.params.epochs = 5;
      delete d.evaluate.compareToChampion;
      d.approval = { approvers: ['alice', 'bob'], required: 1, timeout: '1h' };
      d.deploy = { alias: 'production', strategy: 'direct' };
      d.monitor = { every: '1h', window: '24h', source: 'file://data/churn.csv', drift: { method: 'psi', threshold: 0.2, minSamples: 100 }, retrain: { onDrift: false, cooldown: '1h' } };
    });
    // A signed approval, as an operator does it: alice's key made and registered with the CLI
    // before the run (a gate reads the approver directory when it opens).
    const aliceKey = path.join(os.tmpdir(), `topology-alice-${process.pid}.key`);
    const keygen = await runCliAsync(['approvers', 'keygen', 'alice', '--out', aliceKey], topo.env({ MLCYCLE_CODEC_KEY_FILE: KEY_FILE }));
    const publicKey = keygen.stdout.trim().split('\n').at(-1) ?? '';
    expect(publicKey).toMatch(/^ed25519:/);
    const added = await runCliAsync(['approvers', 'add', 'alice', publicKey], topo.env({ MLCYCLE_CODEC_KEY_FILE: KEY_FILE }));
    expect(added.stdout + added.stderr).toMatch(/approver alice registered/);
    const { workflowId } = await client.startPipeline(spec, { cache: false });
    const gated = await settle(workflowId, 180_000, (s) => s.status === 'awaiting_approval');
    expect(gated.status).toBe('awaiting_approval');
    const approve = await runCliAsync(['approve', workflowId, '--as', 'alice', '--key', aliceKey], topo.env({ MLCYCLE_CODEC_KEY_FILE: KEY_FILE }));
    await fs.rm(aliceKey, { force: true });
    expect(approve.stdout + approve.stderr).toMatch(/approved by alice: 1\/1 approvals/);
    const done = await settle(workflowId, 180_000);
    expect([done.status, done.error]).toEqual(['completed', undefined]);
    expect(await createModelRegistry({ store }).getAliases('topo')).toEqual({ production: 1 });
    say(`pipeline ${workflowId}: approved by alice → completed, production → v1`);

    const loaded = await loadPipelineSpec(spec);
    const input: MonitorCheckInput = { model: 'topo', monitor: loaded.spec.monitor!, retrain: client.pipelineInput(loaded, { cache: false }) };
    const check = await client.temporal.workflow.execute<(i: MonitorCheckInput) => Promise<MonitorCheckResult>>('monitorCheck', { taskQueue: 'cpu', workflowId: `topo-check-${Date.now()}`, args: [input] });
    expect(['no_drift', 'drift']).toContain(check.verdict);
    expect(check.version).toBe(1);
    expect(check.samples).toBe(600);
    say(`monitor check: verdict ${check.verdict} on ${check.samples} rows against v${check.version}`);
  }, 400_000);

  it('runs a tuning study', async () => {
    const spec = await ws.spec('tune.yaml', (d) => {
      d.name = 'topo-tune';
      delete d.evaluate.compareToChampion;
      d.tune = { strategy: 'random', trials: 3, concurrency: 3, seed: 5, metric: 'auc', space: { learningRate: { loguniform: [0.01, 0.5] }, epochs: { int: [2, 4] } } };
    });
    const { studyId } = await client.startStudy(await loadPipelineSpec(spec));
    const result = await client.studyResult(studyId);
    expect(result.trials).toHaveLength(3);
    expect(result.best?.metric).toBeGreaterThan(0.5);
    say(`tuning study ${studyId}: ${result.trials.length} trials, best auc ${result.best?.metric.toFixed(4)}`);
  }, 400_000);

  it('30 runs at once survive a worker kill, a server restart, a MinIO outage and a lost drive: all complete, versions 1..30, artifacts re-hash', async () => {
    const spec = await ws.spec('many.yaml', (d) => {
      d.name = 'topo-many';
      d.train.params.epochs = 3;
      delete d.evaluate.compareToChampion;
    });
    const loaded = await loadPipelineSpec(spec);
    const started = Date.now();
    const ids = await Promise.all(Array.from({ length: 30 }, (_, i) => client.startPipeline(loaded, { cache: false, workflowId: `topo-many-${i}` }).then((r) => r.workflowId)));
    say(`started ${ids.length} runs at once`);

    await sleep(3000);
    const victim = topo.workers.get('cpu-1')!;
    process.kill(victim.pid!, 'SIGKILL');
    await victim.exited;
    topo.startWorker('cpu-3', 'cpu');
    // A worker refuses to start while its server is down (a supervisor restarts it): let the
    // replacement come up before the server restart below.
    await waitWorkerReady('cpu-3');
    say(`FAULT worker kill: cpu-1 (pid ${victim.pid}) SIGKILL; replacement cpu-3 started and ready`);

    await sleep(4000);
    await topo.stopTemporal();
    say('FAULT Temporal server stopped');
    await sleep(3000);
    await topo.startTemporal();
    say('FAULT Temporal server restarted: healthy again');

    await sleep(3000);
    await topo.stopMinio();
    say('FAULT MinIO stopped (outage)');
    await sleep(10_000);
    await topo.startMinio();
    say('FAULT MinIO restarted after a 10 s outage');

    await sleep(2000);
    await topo.loseDrive(3);
    say(`FAULT drive lost: ${topo.drives[3]} swapped for a blank folder while MinIO runs (EC:2 over 4 drives tolerates it)`);

    const results = await Promise.all(ids.map((id) => settle(id, 420_000)));
    const failed = results.filter((r) => r.status !== 'completed');
    say(`OUTCOME ${results.length - failed.length}/${results.length} completed in ${Math.round((Date.now() - started) / 1000)}s${failed.length ? `; failed: ${failed.map((f) => `${f.workflowId}: ${f.error}`).join('; ')}` : ''}`);
    expect(failed.map((f) => `${f.workflowId}: ${f.error}`)).toEqual([]);

    const registry = createModelRegistry({ store });
    const versions = await registry.listVersions('topo-many');
    const numbers = versions.map((v) => v.version).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const byRun = new Set(versions.map((v) => v.lineage.workflowId));
    expect(byRun).toEqual(new Set(ids));
    const reported = results.map((r) => r.model?.version).sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(reported).toEqual(numbers);
    say(`OUTCOME versions 1..30, no gaps, no duplicates, one per run`);

    // Re-hash: every model artifact (verified against its recorded sha256 as it is read) and every
    // dataset against the sha256 in the version's lineage, after the drive loss.
    for (const v of versions) {
      await store.getBytes(v.modelUri);
      const data = await store.getBytes(v.lineage.datasetUri);
      expect(createHash('sha256').update(data).digest('hex')).toBe(v.lineage.datasetSha256);
    }
    say(`OUTCOME ${versions.length} model artifacts and their datasets re-hashed: all match`);

    // The other workers rode out every fault without exiting.
    for (const [name, w] of topo.workers) if (name !== 'cpu-1') expect(w.hasExited(), `${name} exited: ${w.tail()}`).toBe(false);
  }, 600_000);
});
