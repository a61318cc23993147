import { z } from 'zod';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { createModelRegistry } from '../src/registry/model-registry';
import { METRICS, type MetricName, type PipelineSpec } from '../src/spec/pipeline-spec';
import { renderEvaluationHtml } from '../src/training/evaluation-report';
import { checkThresholds, compareToChampion, formatMetric, rocCurve, type Metrics } from '../src/training/metrics';
import { encodeFeatureColumns, encodeTargetColumn } from '../src/training/columnar-encoder';
import { parseModelArtifact, type ModelArtifact } from '../src/training/model-artifact';
import { buildTaskReport, renderTaskSections, type TaskReportData } from '../src/training/task-report';
import { computeTaskMetrics, DEFAULT_TASK_METRICS, TASK_METRICS } from '../src/training/task-metrics';
import { EpochMetricsSchema } from '../src/training/trainer-contract';
import { readStoredJson } from '../src/storage/stored-json';
import { getTrainer } from '../src/training/trainers';
import type { DatasetRef, EvaluateResult, SplitSummary, TrainResult } from '../workflows/pipeline-types';
import { loadSnapshotSplits } from './dataset-loader';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { startPulse } from './heartbeat';
import { isMlcycleError } from '../src/errors';
import { createStepCache, stepCacheKey } from './step-cache';
import { SCORED_FROM_TEXT, scoreCommandModel, type ScoredFrom } from './evaluate-command';
import { resolveTaskFromColumns } from '../src/training/columnar-encoder';
import { tableRows } from '../src/data/columnar-load';
import type { TaskType } from '../src/training/feature-matrix';

export interface EvaluateInput {
  name: string;
  dataset: DatasetRef;
  data: PipelineSpec['data'];
  evaluate: PipelineSpec['evaluate'];
  trainer: string;
  /** `train.task` of the spec (else resolved from the training rows, as train does). */
  task?: TaskType;
  model: Pick<TrainResult, 'modelUri' | 'historyUri' | 'reportedMetrics' | 'splitSizes' | 'task' | 'stopReason'>;
  codeVersion: string;
  cache: boolean;
}

function onlyKnown(metrics: Record<string, number>): Metrics {
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => (METRICS as readonly string[]).includes(k)));
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
        const history = await readStoredJson(deps.store, input.model.historyUri, z.array(EpochMetricsSchema), 'training history');
        let metrics: Metrics;
        let roc: ReturnType<typeof rocCurve> | undefined;
        let championMetrics: Metrics | undefined;
        let report: TaskReportData | undefined;
        let task: string | undefined = input.model.task;
        let threshold: number | undefined;
        let names: MetricName[] = input.evaluate.metrics ?? [];
        const failures: string[] = [];
        let scoredFrom: ScoredFrom | undefined;
        if (input.trainer === 'command') {
          // Scored by mlcycle from the trainer's model on the held-out test rows (the same rows the
          // trainer was handed as test.parquet); what it printed stays a training metric.
          const splits = await loadSnapshotSplits(deps, input.dataset, input.data, { scratch, signal: pulse.signal, onProgress: (rows) => pulse.beat({ phase: 'load', rows }) });
          split = splits.counts;
          const targetRule = input.data.schema[input.data.target]!;
          const commandTask = input.model.task ?? resolveTaskFromColumns(input.task, splits.table, input.data.target, targetRule, splits.train);
          task = commandTask;
          if (names.length === 0) names = [...DEFAULT_TASK_METRICS[commandTask]];
          const test = tableRows(splits.table, splits.test, { name: input.data.target, rule: targetRule });
          pulse.beat({ phase: 'score' });
          ({ metrics, roc, scoredFrom } = await scoreCommandModel(deps, input.model.modelUri, input.data, commandTask, test, names));
          if (commandTask !== 'binary') roc = undefined;
          championMetrics = champion ? await scoreChampion(deps, champion.modelUri, input.data, commandTask, test, names, onlyKnown(champion.metrics)) : undefined;
        } else {
          // The final evaluation is the only step that reads the test rows.
          const splits = await loadSnapshotSplits(deps, input.dataset, input.data, { scratch, signal: pulse.signal, onProgress: (rows) => pulse.beat({ phase: 'load', rows }) });
          split = splits.counts;
          const { table, test } = splits;
          const targetRule = input.data.schema[input.data.target]!;
          const model = parseModelArtifact(await deps.store.getJson(input.model.modelUri));
          task = model.task;
          if (names.length === 0) names = [...DEFAULT_TASK_METRICS[model.task]];
          const inapplicable = names.filter((m) => !TASK_METRICS[model.task].includes(m));
          if (inapplicable.length) failures.push(`metrics that do not apply to a ${model.task} model: ${inapplicable.join(', ')} (${model.task} metrics: ${TASK_METRICS[model.task].join(', ')})`);
          pulse.beat({ phase: 'score' });
          // Each model encodes the test columns with its own encoder (a champion may know other categories).
          const score = (m: ModelArtifact) => {
            const y = encodeTargetColumn(m.encoder, table, targetRule, test).values;
            const out = test.length === 0 ? new Float64Array(0) : getTrainer(m.trainer).predict(m.state, encodeFeatureColumns(m.encoder, table, test));
            return { y, out, metrics: computeTaskMetrics({ task: m.task, y, pred: out, numClasses: m.classes?.length ?? 0, ...(m.threshold ? { threshold: m.threshold.value } : {}) }, names) };
          };
          const mine = score(model);
          metrics = mine.metrics;
          threshold = model.threshold?.value;
          if (model.task === 'binary') roc = rocCurve(mine.y, mine.out, { maxPoints: 300 });
          report = buildTaskReport({
            task: model.task,
            ...(model.classes ? { classes: model.classes } : {}),
            ...(threshold !== undefined ? { threshold } : {}),
            metrics: names,
            y: mine.y,
            out: mine.out,
            // Training rows whose class the model knows (all of them, once validation has passed).
            trainY: encodeTargetColumn(model.encoder, table, targetRule, splits.train, { skipUnknown: true }).values,
            featureNames: model.featureNames,
            importance: getTrainer(model.trainer).importance(model.state),
          });
          if (champion) {
            championMetrics = onlyKnown(champion.metrics);
            try {
              const champModel = parseModelArtifact(await deps.store.getJson(champion.modelUri));
              if (champModel.task === model.task) championMetrics = score(champModel).metrics;
            } catch {
              // Not a built-in model of this version (or another schema): fall back to its registered metrics.
            }
          }
        }
        failures.push(...checkThresholds(metrics, input.evaluate.thresholds).map((m) => m.message));
        const missing = names.filter((m: MetricName) => metrics[m] === undefined);
        if (missing.length) failures.push(`metrics not available: ${missing.join(', ')}`);
        let championResult: EvaluateResult['champion'];
        if (champion && input.evaluate.compareToChampion) {
          const cmp = compareToChampion(metrics, championMetrics, input.evaluate.compareToChampion);
          championResult = { version: champion.version, metrics: championMetrics as Record<string, number>, better: cmp.better, message: cmp.message };
          if (!cmp.better) failures.push(`not better than ${alias} (version ${champion.version}): ${cmp.message}`);
        }
        const sizes = split ? { train: split.train, validation: split.validation, test: split.test } : input.model.splitSizes;
        const facts: Record<string, string> = {
          ...(task ? { task } : {}),
          ...(report?.classes ? { classes: report.classes.join(', ') } : {}),
          ...(threshold !== undefined ? { 'decision threshold': formatMetric(threshold) } : {}),
          'dataset version': `sha256:${input.dataset.sha256}`,
          ...(sizes ? { 'split sizes': `train ${sizes.train} · validation ${sizes.validation} · test ${sizes.test}` } : {}),
          ...(report && typeof report.baseRate === 'number' ? { [task === 'regression' ? 'training mean' : 'base rate (positive class)']: formatMetric(report.baseRate) } : {}),
          ...(input.model.stopReason ? { 'training stopped': input.model.stopReason } : {}),
        };
        const html = renderEvaluationHtml({
          model: input.name,
          trainer: scoredFrom ? `${input.trainer} (${SCORED_FROM_TEXT[scoredFrom]})` : input.trainer,
          metrics,
          thresholds: input.evaluate.thresholds,
          ...(roc ? { rocCurve: roc } : {}),
          history,
          facts,
          ...(report ? { sections: renderTaskSections(report, metrics) } : {}),
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
              format: 'mlcycle-evaluation/v2',
              task,
              datasetSha256: input.dataset.sha256,
              splitSizes: sizes,
              ...(split ? { split } : {}),
              threshold,
              metrics,
              failures,
              champion: championResult,
              roc,
              ...(report ?? {}),
              ...(scoredFrom ? { scoredFrom, scoredFromText: SCORED_FROM_TEXT[scoredFrom], trainingMetrics: input.model.reportedMetrics ?? {} } : {}),
            })
          ).uri,
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
