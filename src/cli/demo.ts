import fs from 'node:fs/promises';
import path from 'node:path';
import type { Env, S3Settings } from '../config/env';
import { createPredictionServer } from '../serving/prediction-server';
import { MlcycleClient } from '../client/mlcycle-client';
import { startDevEnvironment } from '../dev/dev-environment';
import { packageRoot } from '../package-info';
import { freePort, isPortFree } from '../stack/ports';
import { writeDemoDataset } from '../demo/demo-data';
import { RunProgress } from './run-progress';
import { createModelRegistry } from '../registry/model-registry';
import { createArtifactStore } from '../storage/artifact-store';
import { createS3Client } from '../storage/s3-client';
import { waitForRun } from '../client/wait-for-run';

export interface DemoOptions {
  env: Env;
  stateDir: string;
  keepRunning: boolean;
  /** Approve as the first listed approver once the gate opens, so the demo runs unattended. */
  autoApprove: boolean;
  log: (line: string) => void;
  untilSignal: () => Promise<NodeJS.Signals>;
}

/** The default port when free, else any free one: the demo must not fail because `mlcycle dev` runs. */
async function portOr(preferred: number): Promise<number> {
  return (await isPortFree(preferred)) ? preferred : freePort();
}

/**
 * `npm run demo`: the embedded stack, a generated dataset, the pipeline end to end, a summary with
 * links. Exits non-zero when the run does not complete.
 */
export async function runDemo(opts: DemoOptions): Promise<boolean> {
  const started = Date.now();
  const specPath = path.join(packageRoot(), 'examples', 'churn', 'lifecycle.yaml');
  const dataFile = path.join(path.dirname(specPath), 'data', 'churn.csv');
  await writeDemoDataset(dataFile, { rows: 5000, seed: 7 });
  opts.log(`dataset: ${dataFile}`);

  const dev = await startDevEnvironment({
    env: opts.env,
    stateDir: path.resolve(opts.stateDir),
    temporalPort: opts.env.TEMPORAL_ADDRESS ? undefined : await portOr(7233),
    uiPort: await portOr(8233),
    minioPort: await portOr(9000),
    minioConsolePort: await portOr(9001),
    workers: true,
    log: opts.log,
  });
  let ok = false;
  try {
    const { temporal } = dev.stack;
    const s3 = createS3Client(dev.stack.s3);
    const client = await MlcycleClient.connect({ address: temporal.address, namespace: temporal.namespace, webUiUrl: temporal.uiUrl, queuePrefix: opts.env.MLCYCLE_QUEUE_PREFIX });
    try {
      if (temporal.uiUrl) console.log(`Web UI: ${temporal.uiUrl}`);
      const { workflowId } = await client.startPipeline(specPath);
      console.log(`pipeline started: ${workflowId}`);
      const progress = new RunProgress();
      let status = await waitForRun(client, workflowId, progress, 500, (s) => s.status === 'awaiting_approval');
      if (status.status === 'awaiting_approval') {
        const gate = await client.pendingApprovals().then((all) => all.find((p) => p.workflowId === workflowId)?.gate);
        const approver = gate?.approvers[0] ?? 'alice';
        console.log(`\nwaiting for approval of ${gate?.model ?? 'the model'} v${gate?.version ?? '?'} — approve with:`);
        console.log(`  npx mlcycle approve ${workflowId} --as ${approver} --comment "looks good"`);
        if (opts.autoApprove) {
          console.log(`(--auto-approve: approving as ${approver})`);
          await client.decide(workflowId, { decision: 'approve', identity: approver, comment: 'approved by the demo (--auto-approve)' });
        }
        status = await waitForRun(client, workflowId, progress);
      }
      ok = status.status === 'completed';
      console.log(`\nrun ${workflowId}: ${status.status}`);
      if (ok && status.model) await demoPrediction(dev.stack.s3, status.model.name);
      if (status.error) console.log(`error: ${status.error}`);
      const store = createArtifactStore({ client: s3, bucket: dev.stack.s3.bucket, prefix: dev.stack.s3.prefix });
      if (status.model) {
        const version = await createModelRegistry({ store }).getVersion(status.model.name, status.model.version);
        console.log(`registered model: ${status.model.name} version ${status.model.version}`);
        if (version) {
          console.log(`  metrics: ${Object.entries(version.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}`);
          console.log(`  lineage: dataset ${version.lineage.datasetSha256.slice(0, 12)}, code ${version.lineage.codeVersion}, ${version.lineage.trainer} ${JSON.stringify(version.lineage.params)}`);
        }
      }
      // Reports live in the store; local copies give the user pages to open in a browser.
      const reportDir = path.resolve(opts.stateDir, 'reports', workflowId);
      for (const [name, uri] of Object.entries(status.artifacts ?? {})) {
        if (name.endsWith('Report')) {
          const file = path.join(reportDir, `${name.replace(/Report$/, '')}.html`);
          await fs.mkdir(reportDir, { recursive: true });
          await store.getToFile(uri, file);
          console.log(`  ${name}: file://${file}  (${uri})`);
        } else {
          console.log(`  ${name}: ${uri}`);
        }
      }
      const link = client.webUiLink(workflowId);
      if (link) console.log(`Web UI run: ${link}`);
      console.log(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    } finally {
      await client.close();
      s3.destroy();
    }
    if (opts.keepRunning) {
      console.log('stack still running — press Ctrl-C to stop');
      await opts.untilSignal();
    }
  } finally {
    await dev.stop();
  }
  return ok;
}

/** Serves the freshly deployed `production` model for a moment and asks it for one prediction. */
async function demoPrediction(settings: S3Settings, model: string): Promise<void> {
  const s3 = createS3Client(settings);
  const store = createArtifactStore({ client: s3, bucket: settings.bucket, prefix: settings.prefix });
  const server = createPredictionServer({ store, registry: createModelRegistry({ store }), model, log: () => undefined });
  try {
    const { url } = await server.start();
    const row = { customer_id: 'demo-1', tenure_months: 3, monthly_charges: 95, support_tickets: 4, plan: 'basic', region: 'south', autopay: false };
    const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: [row] }) });
    console.log(`prediction service (${url}/predict) answered ${res.status}: ${await res.text()}`);
  } finally {
    await server.stop();
    s3.destroy();
  }
}
