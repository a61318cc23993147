import { Context } from '@temporalio/activity';
import { DatasetManifestSchema } from '../src/data/dataset-manifest';
import { parseDatasetProfile, type DatasetProfile } from '../src/data/profile';
import { renderValidationHtml, summarizeFailures, validateDataset } from '../src/data/validate';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import { readStoredJson } from '../src/storage/stored-json';
import type { DatasetRef, ValidateResult } from '../workflows/pipeline-types';
import { checkTargetForTask } from '../src/training/target-task';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isMlcycleError } from '../src/errors';
import { targetLabel } from '../src/training/columnar-encoder';
import { loadSnapshotSplits } from './dataset-loader';
import { startPulse } from './heartbeat';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { createStepCache, stepCacheKey } from './step-cache';

export interface ValidateInput {
  manifestUri: string;
  /** Manifest of `validation.reference`, when the spec names one. */
  referenceManifestUri?: string;
  data: PipelineSpec['data'];
  validation: PipelineSpec['validation'];
  /** With the dataset: the target is checked against the task on the actual train/validation/test split. */
  dataset?: DatasetRef;
  /** The trainer and task the target must be trainable by (checked here, before training). */
  train?: { trainer: string; task?: PipelineSpec['train']['task'] };
  pipeline: string;
  workflowId: string;
  codeVersion: string;
  cache: boolean;
}

/** Schema rules and statistical expectations over the ingest profile; writes the JSON and HTML report. */
export function createValidateActivities(deps: ActivityDeps) {
  const cache = createStepCache(deps.store);
  return {
    async validateDataset(input: ValidateInput): Promise<ValidateResult> {
      const ctx = Context.current();
      try {
        const manifest = await readStoredJson(deps.store, input.manifestUri, DatasetManifestSchema, 'dataset manifest');
        const reference = input.referenceManifestUri ? await readStoredJson(deps.store, input.referenceManifestUri, DatasetManifestSchema, 'reference dataset manifest') : undefined;
        const key = stepCacheKey('validate', {
          code: input.codeVersion,
          sha256: manifest.dataset.sha256,
          reference: reference?.dataset.sha256,
          data: input.data,
          validation: input.validation,
          train: input.train ?? null,
        });
        if (input.cache) {
          const hit = await cache.get<Omit<ValidateResult, 'cached' | 'attempt'>>('validate', key);
          if (hit) return { ...hit, cached: true, attempt: ctx.info.attempt };
        }
        const profile: DatasetProfile = parseDatasetProfile(manifest.profile);
        const report = validateDataset(profile, manifest.typeErrors, { data: input.data, validation: input.validation, ...(input.train ? { train: input.train } : {}) }, {
          reference: reference ? parseDatasetProfile(reference.profile) : undefined,
        });
        if (input.dataset && input.train && input.train.trainer !== 'command') {
          // The task's demands on the target (classes, numbers, classes unseen in training) on the
          // split the trainer will use: a mismatch stops here, before anything is trained.
          const scratch = await fs.mkdtemp(path.join(deps.workDir, 'validate-'));
          const pulse = startPulse(ctx, { phase: 'load' });
          try {
            const splits = await loadSnapshotSplits(deps, input.dataset, input.data, { scratch, signal: pulse.signal, onProgress: (rows) => pulse.beat({ phase: 'load', rows }) });
            const target = input.data.target;
            const rule = input.data.schema[target]!;
            const { table } = splits;
            // Labels of the target column only (numbers for a number target), with 1-based data row numbers.
            const labels = (rows: Uint32Array) => Array.from(rows, (i) => (rule.type === 'number' ? table.target[i]! : targetLabel(table, rule, table.target[i]!)));
            const rowNumbers = (rows: Uint32Array) => Array.from(rows, (i) => table.rowIndex[i]! + 1);
            const check = (heldOut: Uint32Array, heldOutName: string) =>
              checkTargetForTask({
                column: target,
                rule,
                declared: input.train!.task,
                train: labels(splits.train),
                test: labels(heldOut),
                trainRows: rowNumbers(splits.train),
                testRows: rowNumbers(heldOut),
                heldOutName,
              });
            const { task, issues } = check(splits.test, 'test rows');
            // The validation rows are scored too (early stopping, the threshold): their classes must occur in training.
            if (task !== 'regression' && splits.validation.length > 0) {
              issues.push(...check(splits.validation, 'validation rows').issues.filter((i) => i.message.includes('never in the training rows')));
            }
            if (issues.length === 0 && task) {
              report.checks.push({ column: target, rule: 'task', level: 'error', passed: true, message: `target "${target}" fits the ${task} task`, observed: task });
            }
            for (const issue of issues) {
              report.checks.push({ column: target, rule: 'task', level: 'error', passed: false, message: issue.message, ...(issue.observed ? { observed: issue.observed } : {}), ...(issue.expected ? { expected: issue.expected } : {}) });
            }
            report.passed = report.passed && issues.length === 0;
          } catch (err) {
            // A snapshot the trainer could not load either (say, a string target): a failed check, not a crash.
            if (!isMlcycleError(err) || err.code !== 'DATA_INVALID') throw err;
            report.checks.push({ column: input.data.target, rule: 'task', level: 'error', passed: false, message: err.message });
            report.passed = false;
          } finally {
            pulse.stop();
            await fs.rm(scratch, { recursive: true, force: true });
          }
        }
        // The schema used, and whether ingest inferred it (`schema: infer`): both in the JSON and on the page.
        const schemaInferred = manifest.schemaInferred === true;
        const json = await deps.store.putJson({ format: 'mlcycle-validation/v1', dataset: manifest.dataset, ...report, schema: input.data.schema, schemaInferred });
        const html = await deps.store.putBytes(
          renderValidationHtml(report, { pipeline: input.pipeline, dataset: manifest.dataset.uri, runId: input.workflowId, profile, schema: input.data.schema, schemaInferred, target: input.data.target }),
          { contentType: 'text/html; charset=utf-8' },
        );
        const output = {
          passed: report.passed,
          failures: summarizeFailures(report),
          warnings: report.checks.filter((c) => !c.passed && c.level === 'warning').length,
          extraColumns: report.extraColumns,
          droppedMissingTarget: report.droppedMissingTarget,
          reportUri: json.uri,
          htmlUri: html.uri,
        };
        await cache.put('validate', key, output);
        return { ...output, cached: false, attempt: ctx.info.attempt };
      } catch (err) {
        throw asActivityFailure(err);
      }
    },
  };
}
