import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { createRowCoercer } from '../src/data/coerce';
import { DatasetManifestSchema } from '../src/data/dataset-manifest';
import { readStoredJson } from '../src/storage/stored-json';
import { readRows } from '../src/data/dataset-reader';
import { buildDriftReport, type DriftInputs } from '../src/monitoring/drift-check';
import { renderDriftHtml } from '../src/monitoring/drift-report';
import { createModelRegistry } from '../src/registry/model-registry';
import { readPredictionLogs } from '../src/serving/prediction-log';
import { durationMs } from '../src/spec/durations';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import { loadRowScorer } from './model-scorer';
import type { Row } from '../src/training/row-matrix-adapter';
import { loadSplitRows } from './dataset-loader';
import type { DriftCheckInput, DriftCheckResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
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




async function readSource(deps: ActivityDeps, source: string, data: PipelineSpec['data'], scratch: string): Promise<Row[]> {
  let local: string;
  if (source.startsWith('file://')) local = source.slice('file://'.length);
  else {
    local = path.join(scratch, path.basename(source));
    await deps.store.getToFile(source, local);
  }
  const coerce = createRowCoercer(data.schema);
  const rows: Row[] = [];
  for await (const raw of readRows(local, data.format)) rows.push(coerce(raw).row);
  return rows;
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
      let releaseModel: (() => Promise<void>) | undefined;
      try {
        const serving = await registry.resolveAlias(input.model, input.monitor.alias);
        if (!serving) return { verdict: 'no_model', samples: 0, drifted: [], missing: [] };
        // Built-in or ONNX (command trainers): the same scores either way.
        const model = await loadRowScorer(deps.store, serving.modelUri);
        releaseModel = () => model.release();
        // The training data of the serving version, exactly as ingested (its manifest has the ref).
        const { dataset } = await readStoredJson(deps.store, serving.lineage.manifestUri, DatasetManifestSchema, 'dataset manifest');
        const { train: reference } = await loadSplitRows(deps, dataset, input.data, scratch);
        ctx.heartbeat({ phase: 'current window' });

        const now = new Date(input.nowIso);
        let current: Row[];
        let currentProba: number[];
        if (input.monitor.source) {
          current = await readSource(deps, input.monitor.source, input.data, scratch);
          currentProba = await model.predict(current);
        } else {
          const since = new Date(now.getTime() - durationMs(input.monitor.window));
          const logs = (await readPredictionLogs(deps.store, input.model, { since, until: now })).filter((e) => {
            const t = Date.parse(e.ts);
            return t >= since.getTime() && t <= now.getTime();
          });
          current = logs.map((e) => e.inputs);
          currentProba = logs.map((e) => e.probability);
        }
        const features = Object.entries(input.data.schema)
          .filter(([name, rule]) => name !== input.data.target && rule.type !== 'string')
          .map(([name, rule]) => ({ name, kind: rule.type === 'number' ? ('numeric' as const) : ('categorical' as const) }));
        const inputs: DriftInputs = {
          features,
          reference,
          current,
          referenceProba: await model.predict(reference),
          currentProba,
          target: input.data.target,
          config: input.monitor.drift,
        };
        const report = buildDriftReport(inputs);
        const json = await deps.store.putJson({ format: 'mlcycle-drift/v1', model: input.model, version: serving.version, checkId: input.checkId, at: input.nowIso, ...report });
        const html = await deps.store.putBytes(renderDriftHtml(report.raw, { model: input.model, version: serving.version, checkId: input.checkId, at: input.nowIso }), { contentType: 'text/html; charset=utf-8' });
        return {
          verdict: report.verdict,
          version: serving.version,
          samples: current.length,
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

