import { Context } from '@temporalio/activity';
import type { TypeErrorSummary } from '../src/data/coerce';
import { parseDatasetProfile, type DatasetProfile } from '../src/data/profile';
import { renderValidationHtml, summarizeFailures, validateDataset } from '../src/data/validate';
import type { PipelineSpec } from '../src/spec/pipeline-spec';
import type { ValidateResult } from '../workflows/pipeline-types';
import type { ActivityDeps } from './deps';
import { asActivityFailure } from './failures';
import { createStepCache, stepCacheKey } from './step-cache';

export interface ValidateInput {
  manifestUri: string;
  /** Manifest of `validation.reference`, when the spec names one. */
  referenceManifestUri?: string;
  data: PipelineSpec['data'];
  validation: PipelineSpec['validation'];
  /** The trainer and task the target must be trainable by (checked here, before training). */
  train?: { trainer: string; task?: PipelineSpec['train']['task'] };
  pipeline: string;
  workflowId: string;
  codeVersion: string;
  cache: boolean;
}

interface DatasetManifest {
  dataset: { uri: string; sha256: string };
  profile: unknown;
  typeErrors: TypeErrorSummary;
}

/** Schema rules and statistical expectations over the ingest profile; writes the JSON and HTML report. */
export function createValidateActivities(deps: ActivityDeps) {
  const cache = createStepCache(deps.store);
  return {
    async validateDataset(input: ValidateInput): Promise<ValidateResult> {
      const ctx = Context.current();
      try {
        const manifest = await deps.store.getJson<DatasetManifest>(input.manifestUri);
        const reference = input.referenceManifestUri ? await deps.store.getJson<DatasetManifest>(input.referenceManifestUri) : undefined;
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
        const json = await deps.store.putJson({ format: 'mlcycle-validation/v1', dataset: manifest.dataset, ...report });
        const html = await deps.store.putBytes(
          renderValidationHtml(report, { pipeline: input.pipeline, dataset: manifest.dataset.uri, runId: input.workflowId, profile }),
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
