import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { createModelRegistry } from '../src/registry/model-registry';
import { METRICS, type MetricName, type PipelineSpec } from '../src/spec/pipeline-spec';
import { renderEvaluationHtml } from '../src/training/evaluation-report';
import { encode } from '../src/training/features';
import { checkThresholds, compareToChampion, computeMetrics, confusionMatrix, rocCurve, type Metrics } from '../src/training/metrics';
import { parseModelArtifact, predict } from '../src/training/model-artifact';
import type { EpochMetrics } from '../src/training/trainers';
import type { DatasetRef, EvaluateResult, TrainResult } from '../workflows/pipeline-types';
import { loadSplitRows } from './dataset-loader';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { isMlcycleError } from '../src/errors';
import { createStepCache, stepCacheKey } from './step-cache';
import { SCORED_FROM_TEXT, scoreCommandModel, type ScoredFrom } from './evaluate-command';
import { resolveTask } from '../src/training/task-type';
import type { TaskType } from '../src/training/feature-matrix';

export interface EvaluateInput {
  name: string;
  dataset: DatasetRef;
  data: PipelineSpec['data'];
  evaluate: PipelineSpec['evaluate'];
  trainer: string;
  /** `train.task` of the spec (resolved with src/training/task-type.ts). */
  task?: TaskType;
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
      const scratch = await fs.mkdtemp(path.join(deps.workDir, 'evaluate-'));
      try {
        const history = await deps.store.getJson<EpochMetrics[]>(input.model.historyUri);
        let metrics: Metrics;
        let roc: ReturnType<typeof rocCurve> = [];
        let confusion = { tp: 0, fp: 0, tn: 0, fn: 0 } as ReturnType<typeof confusionMatrix>;
        let championMetrics: Metrics | undefined;
        let scoredFrom: ScoredFrom | undefined;
        if (input.trainer === 'command') {
          // Scored by mlcycle from the trainer's model on the held-out rows; what it printed stays a training metric.
          const task = resolveTask(input.data, { task: input.task });
          const { test } = await loadSplitRows(deps, input.dataset, input.data, scratch);
          ({ metrics, roc, confusion, scoredFrom } = await scoreCommandModel(deps, input.model.modelUri, input.data, task, test, input.evaluate.metrics));
          championMetrics = champion ? await scoreChampion(deps, champion.modelUri, input.data, task, test, input.evaluate.metrics, onlyKnown(champion.metrics)) : undefined;
        } else {
          const { test } = await loadSplitRows(deps, input.dataset, input.data, scratch);
          const model = parseModelArtifact(await deps.store.getJson(input.model.modelUri));
          const { y } = encode(model.encoder, test);
          const proba = predict(model, test);
          metrics = computeMetrics(y, proba, input.evaluate.metrics);
          roc = rocCurve(y, proba);
          confusion = confusionMatrix(y, proba);
          if (champion) {
            championMetrics = onlyKnown(champion.metrics);
            try {
              const champModel = parseModelArtifact(await deps.store.getJson(champion.modelUri));
              championMetrics = computeMetrics(y, predict(champModel, test), input.evaluate.metrics);
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
          trainer: scoredFrom ? `${input.trainer} (${SCORED_FROM_TEXT[scoredFrom]})` : input.trainer,
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
          ...(scoredFrom ? { scoredFrom } : {}),
          reportUri: (
            await deps.store.putJson({
              format: 'mlcycle-evaluation/v1',
              metrics,
              failures,
              champion: championResult,
              roc,
              confusion,
              ...(scoredFrom ? { scoredFrom, scoredFromText: SCORED_FROM_TEXT[scoredFrom], trainingMetrics: input.model.reportedMetrics ?? {} } : {}),
            })
          ).uri,
          htmlUri: htmlRef.uri,
        };
        await cache.put('evaluate', key, output);
        return { ...output, cached: false, attempt: ctx.info.attempt };
      } catch (err) {
        throw asActivityFailure(err);
      } finally {
        await fs.rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The champion on the same test rows when it is a command model mlcycle can score (same features
 * and task); otherwise its registered metrics.
 */
async function scoreChampion(
  deps: ActivityDeps,
  modelUri: string,
  data: PipelineSpec['data'],
  task: TaskType,
  test: Parameters<typeof scoreCommandModel>[4],
  names: readonly MetricName[],
  registered: Metrics,
): Promise<Metrics> {
  try {
    return (await scoreCommandModel(deps, modelUri, data, task, test, names)).metrics;
  } catch {
    return registered;
  }
}

/** No model or no alias holder yet means no champion; anything else (S3 down) is a real error. */
function undefinedIfUnknown(err: unknown): undefined {
  if (isMlcycleError(err) && err.code === 'NOT_FOUND') return undefined;
  throw err;
}
