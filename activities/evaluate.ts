import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { createModelRegistry } from '../src/registry/model-registry';
import { METRICS, type MetricName, type PipelineSpec } from '../src/spec/pipeline-spec';
import { renderEvaluationHtml } from '../src/training/evaluation-report';
import { encodeColumns } from '../src/training/columnar-encoder';
import { matrixRows } from '../src/training/trainer-adapter';
import { getTrainer } from '../src/training/trainers';
import { checkThresholds, compareToChampion, computeMetrics, confusionMatrix, rocCurve, type Metrics } from '../src/training/metrics';
import { parseModelArtifact, type ModelArtifact } from '../src/training/model-artifact';
import type { EpochMetrics } from '../src/training/trainers';
import type { DatasetRef, EvaluateResult, SplitSummary, TrainResult } from '../workflows/pipeline-types';
import { loadSnapshotSplits, type SnapshotSplits } from './dataset-loader';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { startPulse } from './heartbeat';
import { isMlcycleError } from '../src/errors';
import { createStepCache, stepCacheKey } from './step-cache';

export interface EvaluateInput {
  name: string;
  dataset: DatasetRef;
  data: PipelineSpec['data'];
  evaluate: PipelineSpec['evaluate'];
  trainer: string;
  model: Pick<TrainResult, 'modelUri' | 'historyUri' | 'reportedMetrics'>;
  codeVersion: string;
  cache: boolean;
}

function onlyKnown(metrics: Record<string, number>): Metrics {
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => (METRICS as readonly string[]).includes(k))) as Metrics;
}

/**
 * Held-out metrics, threshold gate and comparison with the model holding the champion alias. The
 * champion is scored on the same held-out rows when it is a built-in model, so the comparison is
 * like for like; otherwise its registered metrics are used.
 */
export function createEvaluateActivities(deps: ActivityDeps) {
  const cache = createStepCache(deps.store);
  const registry = createModelRegistry({ store: deps.store });
  return {
    async evaluateModel(input: EvaluateInput): Promise<EvaluateResult> {
      const ctx = Context.current();
      const alias = input.evaluate.compareToChampion?.alias ?? 'production';
      const champion = input.evaluate.compareToChampion ? await registry.resolveAlias(input.name, alias).catch(undefinedIfUnknown) : undefined;
      const key = stepCacheKey('evaluate', {
        code: input.codeVersion,
        sha256: input.dataset.sha256,
        data: input.data,
        evaluate: input.evaluate,
        model: input.model.modelUri,
        champion: champion ? `${champion.name}@${champion.version}` : null,
      });
      if (input.cache) {
        const hit = await cache.get<Omit<EvaluateResult, 'cached' | 'attempt'>>('evaluate', key);
        if (hit) return { ...hit, cached: true, attempt: ctx.info.attempt };
      }
      const pulse = startPulse(ctx, { phase: 'load' });
      const scratch = await fs.mkdtemp(path.join(deps.workDir, 'evaluate-'));
      try {
        let split: SplitSummary | undefined;
        const history = await deps.store.getJson<EpochMetrics[]>(input.model.historyUri);
        let metrics: Metrics;
        let roc: ReturnType<typeof rocCurve> = [];
        let confusion = { tp: 0, fp: 0, tn: 0, fn: 0 } as ReturnType<typeof confusionMatrix>;
        let championMetrics: Metrics | undefined;
        if (input.trainer === 'command') {
          // A command trainer's model is opaque to mlcycle: it is judged on the metrics it reported.
          metrics = onlyKnown(input.model.reportedMetrics ?? {});
          championMetrics = champion ? onlyKnown(champion.metrics) : undefined;
        } else {
          // The final evaluation is the only step that reads the test rows.
          const splits = await loadSnapshotSplits(deps, input.dataset, input.data, { scratch, signal: pulse.signal, onProgress: (rows) => pulse.beat({ phase: 'load', rows }) });
          split = splits.counts;
          const test = splits.test;
          const model = parseModelArtifact(await deps.store.getJson(input.model.modelUri));
          const y = Array.from(test, (i) => splits.table.target[i]!);
          pulse.beat({ phase: 'score' });
          const proba = scoreRows(model, splits, test);
          metrics = computeMetrics(y, proba, input.evaluate.metrics);
          roc = rocCurve(y, proba);
          confusion = confusionMatrix(y, proba);
          if (champion) {
            championMetrics = onlyKnown(champion.metrics);
            try {
              const champModel = parseModelArtifact(await deps.store.getJson(champion.modelUri));
              championMetrics = computeMetrics(y, scoreRows(champModel, splits, test), input.evaluate.metrics);
            } catch {
              // Not a built-in model (or another schema): fall back to its registered metrics.
            }
          }
        }
        const failures = checkThresholds(metrics, input.evaluate.thresholds).map((m) => m.message);
        const missing = input.evaluate.metrics.filter((m: MetricName) => metrics[m] === undefined);
        if (missing.length) failures.push(`metrics not available: ${missing.join(', ')}`);
        let championResult: EvaluateResult['champion'];
        if (champion && input.evaluate.compareToChampion) {
          const cmp = compareToChampion(metrics, championMetrics, input.evaluate.compareToChampion);
          championResult = { version: champion.version, metrics: championMetrics as Record<string, number>, better: cmp.better, message: cmp.message };
          if (!cmp.better) failures.push(`not better than ${alias} (version ${champion.version}): ${cmp.message}`);
        }
        const html = renderEvaluationHtml({
          model: input.name,
          trainer: input.trainer,
          metrics,
          thresholds: input.evaluate.thresholds,
          rocCurve: roc,
          confusion,
          history,
          ...(championResult ? { champion: { version: championResult.version, metrics: championResult.metrics } } : {}),
        });
        const htmlRef = await deps.store.putBytes(html, { contentType: 'text/html; charset=utf-8' });
        const output = {
          metrics: metrics as Record<string, number>,
          passed: failures.length === 0,
          failures,
          ...(championResult ? { champion: championResult } : {}),
          reportUri: (await deps.store.putJson({ format: 'mlcycle-evaluation/v1', metrics, failures, champion: championResult, roc, confusion, ...(split ? { split } : {}) })).uri,
          ...(split ? { split } : {}),
          htmlUri: htmlRef.uri,
        };
        await cache.put('evaluate', key, output);
        return { ...output, cached: false, attempt: ctx.info.attempt };
      } catch (err) {
        throw asActivityFailure(err);
      } finally {
        pulse.stop();
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

/** Probabilities of a built-in model for the rows `rows` of the loaded snapshot. */
function scoreRows(model: ModelArtifact, splits: SnapshotSplits, rows: Uint32Array): number[] {
  if (rows.length === 0) return [];
  const X = encodeColumns(model.encoder, splits.table, rows);
  return getTrainer(model.trainer).predictProba(model.state, matrixRows(X));
}

/** No model or no alias holder yet means no champion; anything else (S3 down) is a real error. */
function undefinedIfUnknown(err: unknown): undefined {
  if (isMlcycleError(err) && err.code === 'NOT_FOUND') return undefined;
  throw err;
}
