import { defineQuery, executeChild, patched, proxyActivities, setHandler, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import { refuseUndecodableInput } from './input-guard';
import { deploymentOwnerId, deploymentWorkflow, runDeploymentAsOwner } from './deployment';
import { DEFAULT_MAX_TRIALS_PER_RUN, tuningStudy } from './tuning-study';
import { KIND, MODEL } from './search-attributes';
import type { Activities } from '../activities';
import type { PipelineInput, PipelineProgress, PipelineResult } from './pipeline-types';
import type { ColumnRule } from '../src/spec/pipeline-spec';
import { approvalQuery } from './approval-definitions';
import { approvalGate, gateApproved } from './approval-gate';
import { StepRunner } from './step-runner';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/errors';

export const statusQuery = defineQuery<PipelineProgress>('status');

export const PIPELINE_STEPS = ['ingest', 'validate', 'train', 'evaluate', 'register'] as const;
/** Steps a spec adds: `approval` gates promotion, `deploy` moves the alias (direct or canary). */
type Step = (typeof PIPELINE_STEPS)[number] | 'tune' | 'approval' | 'deploy';

/** Failures no retry can fix (the one list, src/errors.ts): the workflow fails at once with the activity's message. */
const NON_RETRYABLE = NON_RETRYABLE_ERROR_TYPES;

/**
 * The training pipeline: ingest → validate → train → evaluate → register. Orchestration only:
 * every stage is an activity and only references and small summaries pass through here. The step
 * table backs `mlcycle status`; the stage search attribute lets the Web UI filter runs.
 */
export async function trainingPipeline(input: PipelineInput): Promise<PipelineResult> {
  refuseUndecodableInput(input);
  // Runs recorded before signed approvals keep their unsigned gate on replay; every new run signs.
  const signedGates = patched('signed-approvals');
  const { spec } = input;
  const info = workflowInfo();
  const cpuOptions: ActivityOptions = {
    taskQueue: input.queues.cpu,
    startToCloseTimeout: '1h',
    // Every activity heartbeats (data steps every second from their start, engine queries off the
    // event loop; others through the worker's liveness interceptor): 30 s without one means the
    // worker is gone or stuck, and the retry starts elsewhere.
    heartbeatTimeout: '30s',
    // Attempts every 10 s at most, for about two minutes: a store or network outage that long is
    // ridden out and noticed within 10 s of its end (five attempts doubling from 1 s gave up ~15 s
    // in). Bad input is non-retryable and fails at once regardless.
    retry: { maximumAttempts: 15, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', nonRetryableErrorTypes: NON_RETRYABLE },
  };
  // Training heartbeats often: a worker that dies is noticed within the heartbeat timeout and the
  // retry resumes from the checkpoint the last heartbeat named.
  const trainOptions: ActivityOptions = {
    ...cpuOptions,
    taskQueue: spec.train.resources.queue === 'gpu' ? input.queues.gpu : input.queues.cpu,
    startToCloseTimeout: spec.train.timeout,
    // An epoch over a large table holds the event loop between beats: the spec sizes this.
    heartbeatTimeout: spec.train.heartbeatTimeout,
    retry: { ...cpuOptions.retry, maximumAttempts: spec.train.maxAttempts },
  };
  const cpu = proxyActivities<Activities>(cpuOptions);
  const trainer = proxyActivities<Activities>(trainOptions);

  const names: Step[] = [...PIPELINE_STEPS.slice(0, 2), ...(spec.tune ? (['tune'] as const) : []), ...PIPELINE_STEPS.slice(2), ...(spec.approval || (signedGates && spec.deploy) ? (['approval'] as const) : []), ...(spec.approval || spec.deploy ? (['deploy'] as const) : [])];
  const runner = new StepRunner<Step>(names, { model: spec.name });
  setHandler(approvalQuery, () => null);
  const steps = runner.tracker;
  const step = runner.run.bind(runner);
  const gateFailure = runner.gateFailure.bind(runner);
  const artifacts: Record<string, string> = {};
  let model: PipelineProgress['model'];
  const progress = (): PipelineProgress => ({ stage: steps.currentStage(), steps: steps.steps, artifacts, ...(model ? { model } : {}) });
  setHandler(statusQuery, progress);

  const ingest = await step(
    'ingest',
    () => cpu.ingestDataset.executeWithOptions({ ...cpuOptions, summary: `ingest ${spec.data.source}` }, [
      { source: input.source, format: spec.data.format, schema: spec.data.schemaInfer ? 'infer' : spec.data.schema, target: spec.data.target, codeVersion: input.codeVersion, cache: input.cache },
    ]),
    (r) => `${r.rowCount} rows, dataset ${r.dataset.sha256.slice(0, 12)}${r.schema ? `; schema inferred: ${inferredSchemaText(r.schema)}` : ''}`,
  );
  artifacts.dataset = ingest.dataset.uri;
  artifacts.manifest = ingest.manifestUri;
  if (ingest.dataset.snapshot) artifacts.snapshot = ingest.dataset.snapshot.uri;
  // With `schema: infer`, every later step uses the schema ingest inferred (stored in the manifest).
  const data = ingest.schema ? { ...spec.data, schema: ingest.schema } : spec.data;

  let referenceManifestUri: string | undefined;
  if (spec.validation.reference) {
    const reference = await cpu.ingestDataset.executeWithOptions({ ...cpuOptions, summary: `ingest reference ${spec.validation.reference}` }, [
      { source: input.referenceSource ?? spec.validation.reference, field: 'validation.reference', format: undefined, schema: data.schema, codeVersion: input.codeVersion, cache: input.cache },
    ]);
    referenceManifestUri = reference.manifestUri;
  }

  const validation = await step(
    'validate',
    () => cpu.validateDataset.executeWithOptions({ ...cpuOptions, summary: `validate ${spec.name} data` }, [
      {
        manifestUri: ingest.manifestUri,
        referenceManifestUri,
        data,
        validation: spec.validation,
        dataset: ingest.dataset,
        train: { trainer: spec.train.trainer, ...(spec.train.task ? { task: spec.train.task } : {}) },
        pipeline: spec.name,
        workflowId: info.workflowId,
        codeVersion: input.codeVersion,
        cache: input.cache,
      },
    ]),
    (r) =>
      (r.passed ? `passed${r.warnings ? ` with ${r.warnings} warnings` : ''}` : 'failed') +
      (r.droppedMissingTarget ? `; ${r.droppedMissingTarget} rows without a target dropped` : '') +
      (r.extraColumns?.length ? `; columns not in the schema (ignored): ${r.extraColumns.slice(0, 20).join(', ')}${r.extraColumns.length > 20 ? `, … ${r.extraColumns.length} in all` : ''}` : ''),
  );
  artifacts.validationReport = validation.htmlUri;
  artifacts.validationJson = validation.reportUri;
  if (!validation.passed) {
    throw gateFailure('validate', `data validation failed:\n${validation.failures}`, 'VALIDATION_FAILED', {
      report: validation.htmlUri,
    });
  }

  // Tuning: a study on the same dataset version; its best configuration feeds the final training.
  let trainSpec = spec.train;
  let tuning: { studyId: string; trialId: number } | undefined;
  if (spec.tune) {
    const tune = spec.tune;
    const trainerName = spec.train.trainer === 'command' ? 'logistic-regression' : spec.train.trainer;
    const { seed: _seed, ...baseParams } = spec.train.params;
    const study = await step(
      'tune',
      async () => ({
        ...(await executeChild(tuningStudy, {
          workflowId: `${info.workflowId}-study`,
          taskQueue: input.queues.cpu,
          args: [
            {
              name: spec.name,
              tune,
              data,
              trainer: trainerName,
              baseParams,
              seed: typeof spec.train.params.seed === 'number' ? spec.train.params.seed : spec.data.split.seed,
              dataset: ingest.dataset,
              queues: input.queues,
              trainQueue: spec.train.resources.queue,
              codeVersion: input.codeVersion,
              cache: input.cache,
              maxTrialsPerRun: DEFAULT_MAX_TRIALS_PER_RUN,
            },
          ],
          typedSearchAttributes: [
            { key: MODEL, value: spec.name },
            { key: KIND, value: 'tuning-study' },
          ],
        })),
        cached: false,
        attempt: 1,
      }),
      (r) => (r.best ? `best trial ${r.best.trialId} of ${r.trials.length}: ${tune.metric} ${r.best.metric.toFixed(4)} ${JSON.stringify(r.best.params)}` : 'no trial completed'),
    );
    artifacts.leaderboard = study.leaderboard.htmlUri;
    if (study.best) {
      const { trainer: bestTrainer, ...bestParams } = study.best.trainParams;
      trainSpec = {
        ...spec.train,
        trainer: typeof bestTrainer === 'string' ? (bestTrainer as typeof spec.train.trainer) : spec.train.trainer,
        params: { ...bestParams, ...(spec.train.params.seed !== undefined ? { seed: spec.train.params.seed } : {}) },
      };
      tuning = { studyId: study.studyId, trialId: study.best.trialId };
    }
  }

  const trained = await step(
    'train',
    () => trainer.trainModel.executeWithOptions({ ...trainOptions, summary: `train ${spec.name} (${trainSpec.trainer}) on ${spec.train.resources.queue}` }, [
      { dataset: ingest.dataset, data, train: trainSpec, ...(spec.evaluate.threshold !== undefined ? { threshold: spec.evaluate.threshold } : {}), ...(spec.serve ? { serve: spec.serve } : {}), specDir: input.specDir, codeVersion: input.codeVersion, cache: input.cache },
    ]),
    (r) =>
      `${r.task ? `${r.task}, ` : ''}${r.epochs} epochs${r.stopReason ? ` (${r.stopReason})` : ''}${r.finalLoss !== undefined ? `, loss ${r.finalLoss.toFixed(4)}` : ''}${r.threshold !== undefined ? `, threshold ${r.threshold.toFixed(4)}` : ''}${r.resumedFrom ? `, resumed from epoch ${r.resumedFrom}` : ''}`,
  );
  if (trained.resumedFrom > 0) steps.set('train', 'completed', { resumedFrom: trained.resumedFrom });
  artifacts.model = trained.modelUri;

  const evaluation = await step(
    'evaluate',
    () => cpu.evaluateModel.executeWithOptions({ ...cpuOptions, summary: `evaluate ${spec.name}` }, [
      {
        name: spec.name,
        dataset: ingest.dataset,
        data,
        evaluate: spec.evaluate,
        trainer: trainSpec.trainer,
        ...(trainSpec.task ? { task: trainSpec.task } : {}),
        model: trained,
        codeVersion: input.codeVersion,
        cache: input.cache,
      },
    ]),
    (r) => Object.entries(r.metrics).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', '),
  );
  artifacts.evaluationReport = evaluation.htmlUri;
  artifacts.evaluationJson = evaluation.reportUri;
  if (!evaluation.passed) {
    throw gateFailure('evaluate', `evaluation gate failed: ${evaluation.failures.join('; ')}`, 'EVALUATION_GATE_FAILED', {
      report: evaluation.htmlUri,
    });
  }

  const registered = await step(
    'register',
    () => cpu.registerModel.executeWithOptions({ ...cpuOptions, summary: `register ${spec.name}` }, [
      {
        name: spec.name,
        modelUri: trained.modelUri,
        metrics: evaluation.metrics,
        lineage: {
          datasetSha256: ingest.dataset.sha256,
          datasetUri: ingest.dataset.uri,
          manifestUri: ingest.manifestUri,
          ...((evaluation.split ?? trained.split) ? { split: evaluation.split ?? trained.split } : {}),
          codeVersion: input.codeVersion,
          trainer: trainSpec.trainer,
          // Every param with the defaults the trainer actually used (a command trainer: as given).
          params: trained.resolvedParams ?? trainSpec.params,
          ...(trained.task ? { task: trained.task } : {}),
          workflowId: info.workflowId,
          ...(tuning ? { studyId: tuning.studyId, trialId: String(tuning.trialId) } : {}),
          runId: info.runId,
          ...(evaluation.champion ? { parentVersion: evaluation.champion.version } : {}),
        },
        reports: { validation: validation.htmlUri, evaluation: evaluation.htmlUri, evaluationJson: evaluation.reportUri, history: trained.historyUri },
        cache: input.cache,
      },
    ]),
    (r) => `${r.name} version ${r.version}`,
  );
  model = { name: registered.name, version: registered.version };

  // The registry's policy may protect the deploy alias: then a gate opens whatever the spec says.
  let approvalSpec = spec.approval;
  let signed: { keys: Record<string, string>; policy?: string } | undefined;
  if (signedGates && (spec.approval || spec.deploy)) {
    const ctx = await cpu.approvalContext({ model: registered.name, alias: spec.deploy?.alias ?? 'production', ...(spec.approval ? { approval: spec.approval } : {}) });
    approvalSpec = ctx.approval;
    signed = { keys: ctx.keys, ...(ctx.policy ? { policy: ctx.policy } : {}) };
    if (!approvalSpec && !spec.approval) steps.set('approval', 'skipped');
  }

  if (approvalSpec) {
    const approval = approvalSpec;
    const gate = await step(
      'approval',
      async () => ({
        gate: await approvalGate({
          spec: approval,
          model: registered.name,
          version: registered.version,
          metrics: evaluation.metrics,
          reports: { validation: validation.htmlUri, evaluation: evaluation.htmlUri },
          queue: input.queues.cpu,
          ...(signed ? { signed } : {}),
        }),
        cached: false,
        attempt: 1,
      }),
      (r) => `${r.gate.status}: ${r.gate.votes.map((v) => `${v.identity} ${v.decision}d`).join(', ') || 'no votes'}`,
    );
    if (!gateApproved(gate.gate)) {
      steps.set('deploy', 'skipped');
      runner.finish();
      return { outcome: 'rejected', ...progress() };
    }
  }

  if (spec.approval || spec.deploy) {
    const deploy = spec.deploy ?? { alias: 'production', strategy: 'direct' as const };
    const deployInput = { model: registered.name, version: registered.version, deploy, queue: input.queues.cpu, decisionId: info.workflowId };
    const searchAttributes = [
      { key: MODEL, value: registered.name },
      { key: KIND, value: 'deployment' },
    ];
    // One deployment in charge of an alias at a time (runs recorded before this kept their own id).
    const owned = patched('deploy-owner-per-alias');
    const deploymentId = owned ? deploymentOwnerId(registered.name, deploy.alias, input.queues.cpu) : `${info.workflowId}-deploy`;
    const deployed = await step(
      'deploy',
      async () => ({
        ...(owned
          ? await runDeploymentAsOwner(deployInput, {
              searchAttributes,
              onWait: (owner) => steps.set('deploy', 'running', { summary: `waiting for ${owner} (another deployment of ${deploy.alias}) to finish` }),
            })
          : await executeChild(deploymentWorkflow, { workflowId: deploymentId, taskQueue: input.queues.cpu, args: [deployInput], typedSearchAttributes: searchAttributes })),
        cached: false,
        attempt: 1,
      }),
      (r) => `${r.outcome === 'promoted' ? `${deploy.alias} → v${registered.version}` : 'rolled back'} (${r.strategy}): ${r.reason}`,
    );
    artifacts.deployment = deploymentId;
    if (deployed.outcome === 'rolled_back') {
      runner.finish();
      return { outcome: 'rolled_back', ...progress() };
    }
  }

  runner.finish();
  return { outcome: 'completed', ...progress() };
}

/** `name type` per column of an inferred schema, for the ingest step's summary (status and the CLI). */
function inferredSchemaText(schema: Record<string, ColumnRule>): string {
  const entries = Object.entries(schema);
  const shown = entries.slice(0, 20).map(([name, rule]) => `${name} ${rule.type === 'category' ? `category(${rule.values.length})` : rule.type === 'number' && rule.integer ? 'integer' : rule.type}`);
  return shown.join(', ') + (entries.length > 20 ? `, … ${entries.length} columns in all` : '');
}
