/**
 * Console page load times at scale: one model with 200 versions and 1,000 audit entries (300 of
 * them signed approval decisions, each re-verified when its page of the audit log is shown), plus
 * 20 other models, on a throw-away MinIO and Temporal dev server. Each page is fetched over HTTP
 * with a signed-in session:
 *
 *   cold  the first load after the console started (nothing cached), a fresh console each round;
 *         the registry reads only what a page shows (one page of the audit log, the newest alias
 *         moves, versions from packs of 25), so this stays far below the baseline
 *   warm  later loads (registry objects and verifications cached; listings always go to S3)
 *
 * Baseline, measured in the same run: what `mlcycle models show` reads for the same model
 * (registry.listVersions + registry.audit, uncached). Target: every page < 1 s. Medians of the
 * rounds; prints `uptime` before and after (the machine is shared).
 *
 *   npx tsx bench/console-pages.ts [--rounds 5] [--versions 200] [--audit 1000]
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { publicKeyText, signVote } from '../src/approval/approver-keys';
import { MlcycleClient } from '../src/client/mlcycle-client';
import { EMBEDDED_S3_CREDENTIALS } from '../src/config/env';
import { createConsoleData } from '../src/console/console-data';
import { createConsoleServer } from '../src/console/server';
import { createModelRegistry, type AuditEntry } from '../src/registry/model-registry';
import { createTrustRecords } from '../src/registry/trust-records';
import { createArtifactStore } from '../src/storage/artifact-store';
import { createS3Client, ensureBucket } from '../src/storage/s3-client';
import { withBenchDevServer } from './bench-dev-server';
import { median, startBenchMinio } from './bench-services';
import { positiveInt } from './cli-args';

const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();
const log = (l: string) => process.stderr.write(`${l}\n`);

async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  }));
  return out;
}

async function main(): Promise<void> {
  const rounds = positiveInt('--rounds', 5);
  const versions = positiveInt('--versions', 200);
  const auditTotal = positiveInt('--audit', 1000);
  console.log(`load before: ${uptime()}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-bench-console-'));
  const minio = await startBenchMinio(dir);
  try {
    await withBenchDevServer({ stateDir: dir, dirPrefix: 'temporal-', namespace: 'default', log }, async ({ server }) => {
      const settings = { endpoint: minio.endpoint, region: 'us-east-1', bucket: 'mlcycle', prefix: 'bench/', credentials: { ...EMBEDDED_S3_CREDENTIALS } };
      const s3 = createS3Client(settings);
      await ensureBucket(s3, settings.bucket);
      const store = createArtifactStore({ client: s3, bucket: settings.bucket, prefix: settings.prefix });
      const registry = createModelRegistry({ store });
      const model = 'bench';

      // --- the data: versions, alias moves, signed decisions, canaries, up to `auditTotal` entries.
      const t0 = performance.now();
      const key = generateKeyPairSync('ed25519').privateKey;
      await createTrustRecords({ store }).addApprover('alice', publicKeyText(key), 'bench');
      const report = await store.putBytes('<!doctype html><html><body><h1>evaluation</h1></body></html>', { contentType: 'text/html; charset=utf-8' });
      const lineage = (n: number) => ({ datasetSha256: (n % 16).toString(16).repeat(64), datasetUri: report.uri, manifestUri: report.uri, codeVersion: 'bench', trainer: 'gradient-boosting', params: { learningRate: 0.1, maxDepth: 3 + (n % 4) }, task: 'binary' as const, workflowId: `bench-train-${n}`, runId: `run-${n}` });
      for (let n = 1; n <= versions; n++) {
        await registry.register({ name: model, modelUri: report.uri, metrics: { auc: 0.8 + (n % 50) / 1000, accuracy: 0.75 + (n % 30) / 1000, f1: 0.6 + (n % 20) / 1000 }, lineage: lineage(n), reports: { validation: report.uri, evaluation: report.uri }, idempotencyKey: `bench-${n}`, actor: `workflow:bench-train-${n}` });
      }
      const entries = versions;
      const extra: AuditEntry[] = [];
      const base = Date.parse('2026-01-01T00:00:00Z');
      for (let i = 0; entries + extra.length < auditTotal; i++) {
        const version = (i % versions) + 1;
        const at = new Date(base + i * 60_000).toISOString();
        if (i % 10 < 6) {
          // Signed approvals: 60% of the generated entries.
          const vote = signVote(key, { workflowId: `bench-train-${version}`, runId: `run-${version}`, model, version, decision: 'approve', approver: 'alice', comment: `ok ${i}`, at });
          extra.push({ at, actor: 'alice', action: 'approve', model, version, detail: { statement: vote.statement, signature: vote.signature, via: 'update', comment: `ok ${i}` } });
        } else if (i % 10 < 8) {
          extra.push({ at, actor: 'deployment', action: 'canary-start', model, version, alias: 'production', detail: { percent: 10, stable: Math.max(1, version - 1) } });
        } else {
          extra.push({ at, actor: 'deployment', action: 'alias.set', model, alias: 'production', from: Math.max(1, version - 1), to: version, detail: { reason: 'bench' } });
        }
      }
      await mapLimit(extra, 16, (e) => registry.appendAudit(e));
      await registry.setAlias(model, 'production', versions, { actor: 'bench' });
      for (let m = 0; m < 20; m++) {
        await registry.register({ name: `other-${m}`, modelUri: report.uri, metrics: { auc: 0.8 }, lineage: lineage(m), reports: {}, idempotencyKey: `other-${m}` });
      }
      const audit = await registry.audit(model);
      const signed = audit.filter((e) => e.action === 'approve').length;
      console.log(`data: ${versions} versions, ${audit.length} audit entries (${signed} signed decisions), 21 models, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

      // --- baseline: the CLI's read of the same model (uncached registry).
      const baseline: number[] = [];
      for (let r = 0; r < rounds; r++) {
        const t = performance.now();
        await Promise.all([registry.listVersions(model), registry.audit(model), registry.getAliases(model)]);
        baseline.push(performance.now() - t);
      }

      const client = await MlcycleClient.connect({ address: server.address, namespace: 'default' });
      const token = 'bench-console-token-0123456789';
      const pages = ['/models', `/models/${model}`, `/models/${model}?audit=${Math.ceil(audit.length / 50)}`, `/models/${model}/versions/${versions}`, `/models/${model}/versions/1`, '/runs', '/approvals', '/monitors'];
      const cold = new Map<string, number[]>(pages.map((p) => [p, []]));
      const afterWarm = new Map<string, number[]>(pages.map((p) => [p, []]));
      const warmUp: number[] = [];
      const warm = new Map<string, number[]>(pages.map((p) => [p, []]));
      try {
        for (let r = 0; r < rounds; r++) {
          // A fresh console each round: its first loads are cold.
          const data = createConsoleData({ client, store, bucket: settings.bucket, prefix: settings.prefix });
          const console_ = createConsoleServer({ data, token, port: 0 });
          const { url } = await console_.start();
          try {
            const signIn = await fetch(`${url}/sign-in`, { method: 'POST', redirect: 'manual', headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
            const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
            const load = async (p: string) => {
              const t = performance.now();
              const res = await fetch(`${url}${p}`, { headers: { cookie } });
              const body = await res.text();
              if (res.status !== 200) throw new Error(`${p}: ${res.status} ${body.slice(0, 300)}`);
              return performance.now() - t;
            };
            for (const p of pages) cold.get(p)!.push(await load(p));
            for (let i = 0; i < 3; i++) for (const p of pages) warm.get(p)!.push(await load(p));
          } finally {
            await console_.stop();
          }
          // As `mlcycle ui` runs it: the cache warmed in the background at start, then each page's first load.
          const data2 = createConsoleData({ client, store, bucket: settings.bucket, prefix: settings.prefix });
          const t = performance.now();
          await data2.warm();
          warmUp.push(performance.now() - t);
          const console2 = createConsoleServer({ data: data2, token, port: 0 });
          const { url: url2 } = await console2.start();
          try {
            const signIn = await fetch(`${url2}/sign-in`, { method: 'POST', redirect: 'manual', headers: { origin: url2, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${token}` });
            const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] as string;
            for (const p of pages) {
              const t1 = performance.now();
              const res = await fetch(`${url2}${p}`, { headers: { cookie } });
              await res.text();
              afterWarm.get(p)!.push(performance.now() - t1);
            }
          } finally {
            await console2.stop();
          }
        }
      } finally {
        await client.close();
        s3.destroy();
      }
      const b = median(baseline);
      console.log(`\nbaseline: CLI read of ${model} (listVersions + audit + aliases, uncached): median ${b.toFixed(0)} ms [${Math.min(...baseline).toFixed(0)}–${Math.max(...baseline).toFixed(0)}]\n`);
      console.log(`cache warm-up at start (all 21 models' versions, aliases, audit): median ${median(warmUp).toFixed(0)} ms [${Math.min(...warmUp).toFixed(0)}–${Math.max(...warmUp).toFixed(0)}]\n`);
      console.log('page'.padEnd(36) + 'cold ms (median [range])'.padEnd(28) + 'first after warm-up'.padEnd(28) + 'warm ms (median [range])'.padEnd(28) + 'warm / baseline  < 1 s?');
      let allMet = true;
      for (const p of pages) {
        const c = cold.get(p)!;
        const w = warm.get(p)!;
        const fmt = (xs: number[]) => `${median(xs).toFixed(0)} [${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}]`;
        const a = afterWarm.get(p)!;
        const met = median(c) < 1000 && median(a) < 1000 && median(w) < 1000;
        allMet &&= met;
        console.log(p.padEnd(36) + fmt(c).padEnd(28) + fmt(a).padEnd(28) + fmt(w).padEnd(28) + `${(median(w) / b).toFixed(2)}×`.padEnd(17) + (met ? 'met' : 'MISSED'));
      }
      console.log(`\n${rounds} rounds (cold: the first load on a console that has read nothing; first after warm-up: the first load once the start-up read finished; warm: 3 loads per round). Target < 1 s for every page, cold, after warm-up and warm: ${allMet ? 'met' : 'missed'}`);
    });
  } finally {
    await minio.stop();
    await fs.rm(dir, { recursive: true, force: true });
    console.log(`load after: ${uptime()}`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
