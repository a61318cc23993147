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
import { describeMonitor, scheduleIdFor, startMonitor } from '../client/monitor-schedules';
import { generateChurnDataset } from '../demo/dataset-generator';
import { loadPipelineSpec } from '../spec/pipeline-spec';
import type { MonitorCheckResult } from '../../workflows/monitor';
import type { KeyObject } from 'node:crypto';
import fsSync from 'node:fs';
import { generateApproverKey, loadApproverKey, publicKeyText } from '../approval/approver-keys';
import { activeKeys, createTrustRecords } from '../registry/trust-records';
import type { ArtifactStore } from '../storage/artifact-store';
import { workerPermissions } from '../worker/worker-permissions';

type Signer = { name: string; key: KeyObject };

/**
 * --auto-approve signs like any approver: a demo key under the state folder, registered in the
 * approver directory before the gate opens (the gate reads the directory when it opens).
 */
async function demoSigner(store: ArtifactStore, stateDir: string, name: string): Promise<Signer> {
  const file = path.resolve(stateDir, 'approvers', `${name}.key`);
  if (!fsSync.existsSync(file)) await generateApproverKey(file);
  const key = loadApproverKey(file);
  const trust = createTrustRecords({ store });
  const publicKey = publicKeyText(key);
  if (activeKeys(await trust.directory())[name] !== publicKey) await trust.addApprover(name, publicKey, 'mlcycle demo');
  return { name, key };
}

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
    // The demo's data lives beside its spec in the package; its trainers are built in.
    permissions: workerPermissions({ dataRoot: [path.dirname(specPath)] }, opts.env),
    log: opts.log,
  });
  let ok: boolean;
  try {
    const { temporal } = dev.stack;
    const s3 = createS3Client(dev.stack.s3);
    const client = await MlcycleClient.connect({ address: temporal.address, namespace: temporal.namespace, webUiUrl: temporal.uiUrl, queuePrefix: opts.env.MLCYCLE_QUEUE_PREFIX, keyring: dev.keyring });
    try {
      if (temporal.uiUrl) console.log(`Web UI: ${temporal.uiUrl}`);
      if (dev.console) console.log(`Console: ${dev.console.url} — models, lineage, reports and the approvals inbox; sign in with the token in ${dev.console.tokenFrom}`);
      if (dev.codec) console.log(`Codec server: ${dev.codec.url} — payloads are encrypted; to read them in the Web UI, log in there with the token in ${dev.codec.tokenFile ?? 'MLCYCLE_CODEC_TOKEN'} (see README, Encryption)`);
      const demoStore = createArtifactStore({ client: s3, bucket: dev.stack.s3.bucket, prefix: dev.stack.s3.prefix });
      const approvers = (await loadPipelineSpec(specPath)).spec.approval?.approvers ?? ['alice'];
      const signer = opts.autoApprove ? await demoSigner(demoStore, opts.stateDir, approvers[0] ?? 'alice') : undefined;
      const { workflowId } = await client.startPipeline(specPath);
      console.log(`pipeline started: ${workflowId}`);
      const status = await runThroughGate(client, workflowId, signer);
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
      if (ok && signer) ok = await lastAct(client, dev.stack.s3, specPath, dataFile, opts, signer);
      console.log(`demo finished in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    } finally {
      await client.close();
      s3.destroy();
    }
    if (opts.keepRunning) {
      if (dev.console) console.log(`Console: ${dev.console.url} (token in ${dev.console.tokenFrom}) — click through the models, lineage and reports`);
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

/** Waits for a run, approving at its gate on the user's behalf when asked to. */
async function runThroughGate(client: MlcycleClient, workflowId: string, signer: Signer | undefined) {
  const progress = new RunProgress();
  let status = await waitForRun(client, workflowId, progress, 500, (s) => s.status === 'awaiting_approval');
  if (status.status === 'awaiting_approval') {
    const gate = await client.pendingApprovals().then((all) => all.find((p) => p.workflowId === workflowId)?.gate);
    const approver = signer?.name ?? gate?.approvers[0] ?? 'alice';
    console.log(`\nwaiting for approval of ${gate?.model ?? 'the model'} v${gate?.version ?? '?'} — approve with a registered key:`);
    console.log(`  npx mlcycle approvers keygen ${approver} && npx mlcycle approvers add ${approver} <printed key>   # once, before the gate opens`);
    console.log(`  npx mlcycle approve ${workflowId} --as ${approver} --comment "looks good"`);
    if (signer) {
      console.log(`(--auto-approve: approving as ${approver}, signed with the demo key)`);
      await client.decide(workflowId, { decision: 'approve', approver, comment: 'approved by the demo (--auto-approve)' }, signer.key);
    }
    status = await waitForRun(client, workflowId, progress);
  }
  return status;
}

/**
 * The lifecycle closes its loop: drifted traffic through the service, the monitor finds drift,
 * continuous training retrains on the fresh data, the new version is approved and promoted.
 */
async function lastAct(client: MlcycleClient, settings: S3Settings, specPath: string, dataFile: string, opts: DemoOptions, signer: Signer): Promise<boolean> {
  console.log('\n— the world moves: drifted traffic through the prediction service —');
  const s3 = createS3Client(settings);
  const store = createArtifactStore({ client: s3, bucket: settings.bucket, prefix: settings.prefix });
  const server = createPredictionServer({ store, registry: createModelRegistry({ store }), model: 'churn', log: () => undefined });
  try {
    const { url } = await server.start();
    const rows = generateChurnDataset({ rows: 600, seed: 8, drift: 1, firstId: 100_000 }).map(({ churned: _label, ...features }) => features);
    for (let i = 0; i < rows.length; i += 100) {
      await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: rows.slice(i, i + 100) }) });
    }
    await server.stop();
    console.log(`sent ${rows.length} drifted requests to ${url}/predict (logged to S3)`);
    // Fresh labelled data has arrived for retraining: a new dataset version.
    await writeDemoDataset(dataFile, { rows: 5000, seed: 8, drift: 1 });

    const loaded = await loadPipelineSpec(specPath);
    await client.temporal.schedule.getHandle(scheduleIdFor('churn')).delete().catch(() => undefined);
    const { scheduleId } = await startMonitor(client.temporal, loaded, client.pipelineInput(loaded));
    await client.temporal.schedule.getHandle(scheduleId).trigger();
    console.log(`monitor ${scheduleId} started (every ${loaded.spec.monitor?.every}); check triggered now`);
    let checkId: string | undefined;
    for (let i = 0; i < 120 && !checkId; i++) {
      checkId = (await describeMonitor(client.temporal, 'churn')).recentChecks.at(-1)?.workflowId;
      if (!checkId) await new Promise((r) => setTimeout(r, 500));
    }
    if (!checkId) throw new Error('the triggered check did not start');
    const check = (await client.temporal.workflow.getHandle(checkId).result()) as MonitorCheckResult;
    console.log(`drift check ${checkId}: ${check.verdict} (${check.drifted.join(', ') || 'no feature'}${check.labelShift ? `; label rate ${check.labelShift.reference.toFixed(2)} → ${check.labelShift.current.toFixed(2)}` : ''})`);
    if (check.htmlUri) {
      const file = path.resolve(opts.stateDir, 'reports', checkId, 'drift.html');
      await fs.mkdir(path.dirname(file), { recursive: true });
      await store.getToFile(check.htmlUri, file);
      console.log(`  drift report: file://${file}`);
    }
    if (!check.retrain.started || !check.retrain.workflowId) {
      console.log(`no retrain: ${check.retrain.reason}`);
      return check.verdict === 'drift' ? check.retrain.reason.startsWith('cooldown') : true;
    }
    console.log(`continuous training: ${check.retrain.workflowId}`);
    const retrain = await runThroughGate(client, check.retrain.workflowId, signer);
    console.log(`retrain ${check.retrain.workflowId}: ${retrain.status}${retrain.model ? `, churn v${retrain.model.version} now serves production` : ''}${retrain.error ? ` (${retrain.error})` : ''}`);
    return retrain.status === 'completed';
  } finally {
    await client.temporal.schedule.getHandle(scheduleIdFor('churn')).pause('demo finished').catch(() => undefined);
    s3.destroy();
  }
}
