import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { DatasetManifestSchema } from '../src/data/dataset-manifest';
import { inferFormat } from '../src/data/dataset-reader';
import { readStoredJson } from '../src/storage/stored-json';
import { buildDriftReport, type DriftInputs, type DriftSample } from '../src/monitoring/drift-check';
import { renderDriftHtml } from '../src/monitoring/drift-report';
import { createModelRegistry } from '../src/registry/model-registry';
import { readPredictionLogs } from '../src/serving/prediction-log';
import { durationMs } from '../src/spec/durations';
import { loadRowScorer } from './model-scorer';
import { loadSnapshotSplits } from './dataset-loader';
import { driftFeatures, driftSample, loadWindowColumns, type WindowFile } from './drift-samples';
import type { DriftCheckInput, DriftCheckResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { startPulse } from './heartbeat';
import { z } from 'zod';
import { MlcycleError } from '../src/errors';
import { formatIssues } from '../src/config/zod-issues';
import { updateState } from '../src/storage/numbered-states';

export const retrainClaimPrefix = (model: string): string => `monitors/${model}/retrain/`;

const RetrainClaimSchema = z.object({
  at: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO-8601 timestamp'),
  checkId: z.string().min(1),
});

function parseRetrainClaim(raw: unknown, where: string): z.infer<typeof RetrainClaimSchema> {
  const r = RetrainClaimSchema.safeParse(raw);
  if (!r.success) throw new MlcycleError('DATA_INVALID', `retrain claim ${where} is malformed:\n${formatIssues(r.error)}`);
  return r.data;
}




export function createMonitorActivities(deps: ActivityDeps) {
  const registry = createModelRegistry({ store: deps.store });
  return {
    /**
     * Compares the current window (prediction logs, or `monitor.source`) with the training rows of
     * the version serving the alias: per-feature drift, shift of the predicted probabilities, and
     * label shift when the current data carries labels.
     */
    async checkDrift(input: DriftCheckInput): Promise<DriftCheckResult> {
      const ctx = Context.current();
      const scratch = await fs.mkdtemp(path.join(deps.workDir, 'monitor-'));
      // Heartbeats on a timer from the first second (loading a large reference or window included);
      // a cancelled or timed-out attempt aborts its engine queries through the signal.
      const pulse = startPulse(ctx, { phase: 'start' });
      let releaseModel: (() => Promise<void>) | undefined;
      try {
        const serving = await registry.resolveAlias(input.model, input.monitor.alias);
        if (!serving) return { verdict: 'no_model', samples: 0, drifted: [], missing: [] };
        // Built-in or ONNX (command trainers): the same scores either way.
        const model = await loadRowScorer(deps.store, serving.modelUri);
        releaseModel = () => model.release();
        // The training rows of the serving version: its snapshot, loaded and split as train did.
        const manifest = await readStoredJson(deps.store, serving.lineage.manifestUri, DatasetManifestSchema, 'dataset manifest');
        // With `schema: infer` the spec has no schema: the one ingest inferred is in the manifest.
        const data = input.data.schemaInfer && manifest.schema ? { ...input.data, schema: manifest.schema } : input.data;
        const targetRule = data.schema[data.target];
        if (!targetRule) throw new MlcycleError('DATA_INVALID', `data.target "${data.target}" is not in the schema of the serving version's dataset`);
        const features = driftFeatures(data.schema, data.target);
        const splits = await loadSnapshotSplits(deps, manifest.dataset, data, { scratch, signal: pulse.signal, undeclaredCategories: true, onProgress: (rows) => pulse.beat({ phase: 'reference', rows }) });
        const referenceProba = await model.scoreTable(splits.table, splits.train);
        const reference = driftSample(splits.table, splits.train, features, targetRule);
        pulse.beat({ phase: 'current window' });

        const now = new Date(input.nowIso);
        let window: WindowFile | undefined;
        let currentProba: ArrayLike<number> = [];
        if (input.monitor.source) {
          const source = input.monitor.source;
          let local: string;
          if (source.startsWith('file://')) local = source.slice('file://'.length);
          else {
            local = path.join(scratch, path.basename(source));
            await deps.store.getToFile(source, local);
          }
          window = { path: local, name: source, format: data.format ?? inferFormat(local).format };
        } else {
          const since = new Date(now.getTime() - durationMs(input.monitor.window));
          const logs = (await readPredictionLogs(deps.store, input.model, { since, until: now })).filter((e) => {
            const t = Date.parse(e.ts);
            return t >= since.getTime() && t <= now.getTime();
          });
          currentProba = logs.map((e) => e.probability);
          if (logs.length > 0) {
            // The logged inputs go through the engine as JSON lines, typed by the same rules as a file.
            const local = path.join(scratch, 'prediction-window.jsonl');
            await fs.writeFile(local, logs.map((e) => JSON.stringify(e.inputs)).join('\n') + '\n');
            window = { path: local, name: `prediction logs of ${input.model}`, format: 'jsonl' };
          }
        }
        let current: DriftSample = { rows: 0, features: {} };
        if (window) {
          const table = await loadWindowColumns(window, data, scratch, pulse.signal);
          current = driftSample(table, undefined, features, targetRule);
          if (input.monitor.source) currentProba = await model.scoreTable(table, Uint32Array.from({ length: table.rows }, (_, i) => i));
        }
        const inputs: DriftInputs = { features, reference, current, referenceProba, currentProba, config: input.monitor.drift };
        const report = buildDriftReport(inputs);
        const json = await deps.store.putJson({ format: 'mlcycle-drift/v1', model: input.model, version: serving.version, checkId: input.checkId, at: input.nowIso, ...report });
        const html = await deps.store.putBytes(renderDriftHtml(report.raw, { model: input.model, version: serving.version, checkId: input.checkId, at: input.nowIso }), { contentType: 'text/html; charset=utf-8' });
        return {
          verdict: report.verdict,
          version: serving.version,
          samples: current.rows,
          drifted: report.drifted,
          missing: report.missing,
          ...(report.predictionShift ? { predictionShift: report.predictionShift } : {}),
          ...(report.labelShift ? { labelShift: report.labelShift } : {}),
          reportUri: json.uri,
          htmlUri: html.uri,
        };
      } catch (err) {
        throw asActivityFailure(err);
      } finally {
        pulse.stop();
        await releaseModel?.();
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },

    /**
     * Continuous-training cooldown: at most one retrain per model per cooldown period. The claim
     * is a numbered state (`monitors/<model>/retrain/<n>.json`) created conditionally, so of two
     * checks deciding at once exactly one creates the next state; the other re-reads, sees the
     * fresh claim and is refused.
     */
    async claimRetrain(input: { model: string; cooldown: string; checkId: string; nowIso: string }): Promise<{ allowed: boolean; reason: string }> {
      try {
        const now = Date.parse(input.nowIso);
        const { result } = await updateState(deps.store, retrainClaimPrefix(input.model), parseRetrainClaim, async ({ value: last }) => {
          if (last) {
            // The same check retried: the claim it made stands.
            if (last.checkId === input.checkId) return { result: { allowed: true, reason: 'claimed by this check' } };
            const since = now - Date.parse(last.at);
            if (since < durationMs(input.cooldown)) {
              return { result: { allowed: false, reason: `cooldown: last retrain ${Math.round(since / 1000)}s ago (cooldown ${input.cooldown}, by ${last.checkId})` } };
            }
          }
          return { next: { at: input.nowIso, checkId: input.checkId }, result: { allowed: true, reason: 'outside cooldown' } };
        });
        return result;
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  };
}

