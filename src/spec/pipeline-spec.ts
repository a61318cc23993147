import fs from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { MlcycleError } from '../errors';
import { formatIssues } from '../config/zod-issues';
import { TuneSpecSchema } from '../tuning/tune-spec';
import { NotifySection } from '../notify/notify-target';

/** `file://relative/path` (relative to the spec's folder), `file:///abs/path` or `s3://bucket/key`. */
export const DataSourceUri = z
  .string()
  .regex(/^(file:\/\/|s3:\/\/[a-z0-9][a-z0-9.-]+\/).+/, 'expected file://path or s3://bucket/key');

const ColumnRule = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('number'),
      min: z.number().optional(),
      max: z.number().optional(),
      required: z.boolean().default(true),
      integer: z.boolean().optional(),
    })
    .strict()
    .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
      message: 'min must be <= max',
      path: ['min'],
    }),
  z
    .object({
      type: z.literal('category'),
      values: z.array(z.string()).min(1, 'a category needs at least one value'),
      required: z.boolean().default(true),
    })
    .strict(),
  z.object({ type: z.literal('boolean'), required: z.boolean().default(true) }).strict(),
  z.object({ type: z.literal('string'), required: z.boolean().default(true) }).strict(),
]);
export type ColumnRule = z.infer<typeof ColumnRule>;
/** One column's rule, for the stored documents that carry a schema (the dataset manifest). */
export const ColumnRuleSchema = ColumnRule;

const DataSection = z
  .object({
    source: DataSourceUri,
    format: z.enum(['csv', 'parquet', 'jsonl']).optional(),
    target: z.string().min(1),
    /** Column → rule, or `infer`: take the schema ingest infers (stored with the dataset version). */
    schema: z.union([z.literal('infer'), z.record(z.string().min(1), ColumnRule)]),
    /** Columns of the data the schema does not declare: `ignore` (not features, reported) or `fail`. */
    extraColumns: z.enum(['ignore', 'fail']).default('ignore'),
    split: z
      .object({
        test: z.number().gt(0, 'must be > 0').lt(1, 'must be < 1').default(0.2),
        /** Fraction of the non-test rows held out for tuning trials, curves and early stopping. */
        validation: z.number().min(0, 'must be >= 0').lt(1, 'must be < 1').default(0.1),
        seed: z.number().int().default(42),
        /** Classification: each class is split in the same proportions. */
        stratify: z.boolean().default(false),
        /** Rows sharing this column's value never straddle train/validation/test. */
        groupBy: z.string().min(1).optional(),
      })
      .strict()
      .default({ test: 0.2, validation: 0.1, seed: 42, stratify: false }),
  })
  .strict()
  // Own keys only: `in` would also find inherited names such as "toString" or "constructor".
  .refine((d) => d.schema === 'infer' || Object.hasOwn(d.schema, d.target), { message: 'target must be a column declared in data.schema', path: ['target'] })
  .refine((d) => d.schema === 'infer' || d.split.groupBy === undefined || Object.hasOwn(d.schema, d.split.groupBy), {
    message: 'groupBy must be a column declared in data.schema',
    path: ['split', 'groupBy'],
  })
  // Downstream code sees a schema map; `schema: infer` becomes an empty map and `schemaInfer`,
  // and the pipeline hands later steps the schema ingest inferred.
  .transform(({ schema, ...rest }): typeof rest & { schema: Record<string, ColumnRule>; schemaInfer?: true } =>
    schema === 'infer' ? { ...rest, schema: {}, schemaInfer: true } : { ...rest, schema },
  );
export type DataSpec = z.infer<typeof DataSection>;

const ValidationSection = z
  .object({
    minRows: z.number().int().nonnegative().default(1),
    maxMissingFraction: z.number().min(0).max(1).default(0.05),
    /** For a categorical/boolean target: the smallest class must make up at least this fraction. */
    minClassFraction: z.number().min(0).max(0.5).optional(),
    /** Reference data to compare distributions with (PSI per numeric column). */
    reference: DataSourceUri.optional(),
    maxPsi: z.number().positive().optional(),
    /** Fraction of rows whose target is missing (such rows are dropped, counted as droppedMissingTarget). */
    maxMissingTarget: z.number().min(0).max(1).default(0),
  })
  .strict()
  .default({ minRows: 1, maxMissingFraction: 0.05, maxMissingTarget: 0 });

export const BUILTIN_TRAINERS = ['logistic-regression', 'gradient-boosting'] as const;

export const TASK_TYPES = ['binary', 'multiclass', 'regression'] as const;

/** `balanced` (n / (k · n_class), as scikit-learn) or an explicit weight per class label. */
export const ClassWeightSpec = z.union([
  z.literal('balanced'),
  z.record(z.string().min(1), z.number().positive('must be > 0')).refine((r) => Object.keys(r).length > 0, 'needs at least one class'),
]);

const TrainSection = z
  .object({
    trainer: z.enum([...BUILTIN_TRAINERS, 'command']),
    /** binary | multiclass | regression; default from the target: boolean/2 values → binary, category → multiclass, number → regression unless its values are only 0/1. */
    task: z.enum(TASK_TYPES).optional(),
    classWeight: ClassWeightSpec.optional(),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
    resources: z
      .object({ queue: z.enum(['cpu', 'gpu']).default('cpu') })
      .strict()
      .default({ queue: 'cpu' }),
    checkpointEvery: z.number().int().positive().default(5),
    /** For trainer `command`: the program and its arguments, run in the spec's folder. */
    command: z.array(z.string().min(1)).min(1).optional(),
    /** For trainer `command`: worker variables to pass through (each must be allowed by the worker's --allow-env). */
    env: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')).optional(),
    timeout: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 30m or 2h').default('2h'),
    /** Attempts of the training step (a killed worker or a crashing program counts as one). */
    maxAttempts: z.number().int().min(1).max(100).default(5),
    /** A training attempt that sends no heartbeat this long is presumed dead and retried. */
    heartbeatTimeout: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 30s or 2m').default('30s'),
  })
  .strict()
  .refine((t) => t.trainer !== 'command' || t.command !== undefined, {
    message: 'trainer "command" needs train.command (the program and its arguments)',
    path: ['command'],
  });

/** Every evaluation metric; which ones apply depends on the task (src/training/task-metrics.ts). */
export const METRICS = [
  'auc', 'accuracy', 'f1', 'precision', 'recall', 'logloss',
  'pr_auc', 'balanced_accuracy', 'brier',
  'macro_f1', 'weighted_f1', 'auc_ovr',
  'rmse', 'mae', 'r2', 'mape',
] as const;
export type MetricName = (typeof METRICS)[number];

export const THRESHOLD_OBJECTIVES = ['f1', 'balanced_accuracy', 'youden'] as const;

/**
 * The binary decision threshold: a probability, or `{optimize: f1|balanced_accuracy|youden}`
 * chosen on the validation rows (the string `optimize: f1` is the same).
 */
export const DecisionThresholdSpec = z.preprocess(
  (v) => {
    if (typeof v === 'string') {
      const m = /^\s*optimize\s*:\s*(\S+)\s*$/.exec(v);
      if (m) return { optimize: m[1] };
    }
    return v;
  },
  z.union([
    z.number().gt(0, 'must be > 0').lt(1, 'must be < 1'),
    z.object({ optimize: z.enum(THRESHOLD_OBJECTIVES) }).strict(),
  ]),
);
export type DecisionThresholdSpec = z.infer<typeof DecisionThresholdSpec>;

const EvaluateSection = z
  .object({
    /** Default per task: binary auc, accuracy, f1; multiclass accuracy, macro_f1, logloss; regression rmse, mae, r2. */
    metrics: z.array(z.enum(METRICS)).min(1).optional(),
    threshold: DecisionThresholdSpec.optional(),
    thresholds: z.partialRecord(z.enum(METRICS), z.number()).default({}),
    compareToChampion: z
      .object({ metric: z.enum(METRICS), minImprovement: z.number().default(0), alias: z.string().default('production') })
      .strict()
      .optional(),
  })
  .strict()
  .default({ thresholds: {} });

const Duration = z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 90s, 10m, 1d');
const Identity = z.string().regex(/^[A-Za-z0-9._@+-]{1,64}$/, 'expected an identity: letters, digits, . _ @ + -');

const ApprovalSection = z
  .object({
    approvers: z.array(Identity).min(1, 'needs at least one approver'),
    required: z.number().int().min(1).default(1),
    timeout: Duration.default('7d'),
    remindAfter: Duration.optional(),
    onTimeout: z.enum(['reject', 'approve']).default('reject'),
    notify: NotifySection.optional(),
  })
  .strict()
  .refine((a) => a.required <= new Set(a.approvers).size, { message: 'cannot exceed the number of distinct approvers', path: ['required'] });
export type ApprovalSpec = z.infer<typeof ApprovalSection>;

const DeploySection = z
  .object({
    alias: z.string().regex(/^[a-z][a-z0-9-_]{0,31}$/, 'expected an alias name').default('production'),
    strategy: z.enum(['direct', 'canary']).default('direct'),
    canary: z
      .object({
        percent: z.number().gt(0).lt(100),
        bake: Duration,
        rollbackIf: z
          .object({ errorRate: z.number().min(0).max(1).optional(), p99LatencyMs: z.number().positive().optional() })
          .strict()
          .default({}),
        /** The serving instance whose /metrics the guardrails read. */
        serviceUrl: z.url().default('http://127.0.0.1:8080'),
        /** Canary requests needed before the guardrails judge (fewer: the bake goes on). */
        minRequests: z.number().int().nonnegative().default(20),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((d) => d.strategy !== 'canary' || d.canary !== undefined, { message: 'strategy canary needs deploy.canary', path: ['canary'] });
export type DeploySpec = z.infer<typeof DeploySection>;

/**
 * How `mlcycle serve` treats the model this spec registers. `outOfRange`: numeric inputs far outside
 * the training data (non-finite, or beyond 1e6 × the training scale) are refused (400, the default),
 * clipped to that bound, or allowed. `mlcycle serve --out-of-range` overrides it for one server.
 */
const ServeSection = z
  .object({
    outOfRange: z.enum(['refuse', 'clip', 'allow'], { error: (iss) => `expected refuse, clip or allow, got ${JSON.stringify(iss.input)}` }).default('refuse'),
  })
  .strict();
export type ServeSpec = z.infer<typeof ServeSection>;

const MonitorSection = z
  .object({
    every: Duration.default('1h'),
    window: Duration.default('24h'),
    /** Explicit current data instead of the serving prediction logs. */
    source: DataSourceUri.optional(),
    alias: z.string().regex(/^[a-z][a-z0-9-_]{0,31}$/, 'expected an alias name').default('production'),
    drift: z
      .object({
        method: z.enum(['psi', 'ks', 'js', 'chi2']).default('psi'),
        threshold: z.number().positive().default(0.2),
        perFeature: z.record(z.string(), z.number().positive()).optional(),
        minSamples: z.number().int().min(1).default(200),
      })
      .strict()
      .default({ method: 'psi', threshold: 0.2, minSamples: 200 }),
    quality: z
      .object({ metric: z.enum(METRICS), minimum: z.number(), labels: DataSourceUri })
      .strict()
      .optional(),
    retrain: z
      .object({ onDrift: z.boolean().default(true), cooldown: Duration.default('24h') })
      .strict()
      .default({ onDrift: true, cooldown: '24h' }),
    notify: NotifySection.optional(),
  })
  .strict();
export type MonitorSpec = z.infer<typeof MonitorSection>;

export const PipelineSpecSchema = z
  .object({
    apiVersion: z.literal('mlcycle/v1'),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-_]{0,62}$/, 'expected a model name: lowercase letters, digits, - and _'),
    data: DataSection,
    validation: ValidationSection,
    train: TrainSection,
    evaluate: EvaluateSection,
    cache: z.boolean().default(true),
    // Later stages (tuning, approval, deployment, monitoring) add their sections; until then
    // they are accepted as opaque objects so specs written for them still load.
    tune: TuneSpecSchema.optional(),
    approval: ApprovalSection.optional(),
    deploy: DeploySection.optional(),
    serve: ServeSection.optional(),
    monitor: MonitorSection.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    // Task-dependent keys are checked as soon as the task is known from the spec alone.
    const task = spec.train.task ?? taskFromSchema(spec.data.schema[spec.data.target]);
    if (task === undefined) return;
    const allowed = TASK_METRIC_NAMES[task];
    const bad = (path: (string | number)[], metric: string) =>
      ctx.addIssue({ code: 'custom', path, message: `${metric} is not a ${task} metric; ${task} metrics: ${allowed.join(', ')}` });
    spec.evaluate.metrics?.forEach((m, i) => allowed.includes(m) || bad(['evaluate', 'metrics', i], m));
    for (const m of Object.keys(spec.evaluate.thresholds)) if (!allowed.includes(m as MetricName)) bad(['evaluate', 'thresholds', m], m);
    if (spec.evaluate.compareToChampion && !allowed.includes(spec.evaluate.compareToChampion.metric)) bad(['evaluate', 'compareToChampion', 'metric'], spec.evaluate.compareToChampion.metric);
    if (spec.evaluate.threshold !== undefined && task !== 'binary') {
      ctx.addIssue({ code: 'custom', path: ['evaluate', 'threshold'], message: `a decision threshold applies to binary classification; this task is ${task}` });
    }
    if (spec.train.classWeight !== undefined && task === 'regression') {
      ctx.addIssue({ code: 'custom', path: ['train', 'classWeight'], message: 'class weights apply to classification; this task is regression' });
    }
  });
export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;
export type TaskName = (typeof TASK_TYPES)[number];

/** Metric names per task: the one list (src/training/task-metrics.ts uses it), here so the spec needs no training code. */
export const TASK_METRIC_NAMES: Readonly<Record<TaskName, readonly MetricName[]>> = {
  binary: ['auc', 'pr_auc', 'accuracy', 'balanced_accuracy', 'f1', 'precision', 'recall', 'logloss', 'brier'],
  multiclass: ['accuracy', 'balanced_accuracy', 'macro_f1', 'weighted_f1', 'logloss', 'auc_ovr'],
  regression: ['rmse', 'mae', 'r2', 'mape'],
};

/**
 * The task a target column's schema implies, when it implies one: boolean or a 2-value category →
 * binary, a category with 3 or more values → multiclass. A number column is regression unless its
 * values are only 0 and 1, which only the data can tell (undefined here).
 */
export function taskFromSchema(rule: ColumnRule | undefined): TaskName | undefined {
  if (rule === undefined) return undefined;
  if (rule.type === 'boolean') return 'binary';
  if (rule.type === 'category') return rule.values.length === 2 ? 'binary' : rule.values.length >= 3 ? 'multiclass' : undefined;
  return undefined;
}

/**
 * Most items in one list (or entries in one map) of a spec. zod gathers the issues of a map's
 * entries with a spread call, which overflows the stack past ~100k issues; no field needs this many.
 */
export const MAX_SPEC_LIST = 50_000;

/** The path of the first list or map in `doc` longer than MAX_SPEC_LIST, with its length. */
function oversized(doc: unknown): { path: string; size: number } | undefined {
  const stack: Array<{ value: unknown; path: string }> = [{ value: doc, path: '' }];
  while (stack.length > 0) {
    const { value, path: at } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length > MAX_SPEC_LIST) return { path: at || '(root)', size: entries.length };
    for (const [k, v] of entries) stack.push({ value: v, path: at ? `${at}.${k}` : k });
  }
  return undefined;
}

/** Validates an already-parsed document; throws SPEC_INVALID listing every bad field by path. */
export function parsePipelineSpec(doc: unknown, origin = 'spec'): PipelineSpec {
  const big = oversized(doc);
  if (big) {
    throw new MlcycleError('SPEC_INVALID', `${origin} is invalid:\n${big.path}: holds ${big.size} items; at most ${MAX_SPEC_LIST} are allowed`);
  }
  const result = PipelineSpecSchema.safeParse(doc);
  if (!result.success) {
    throw new MlcycleError('SPEC_INVALID', `${origin} is invalid:\n${formatIssues(result.error)}`);
  }
  return result.data;
}

export interface LoadedSpec {
  spec: PipelineSpec;
  /** Absolute path of the spec file; file:// sources resolve against its folder. */
  specPath: string;
  /** The data source with file:// made absolute. */
  resolvedSource: string;
}

export async function loadPipelineSpec(specPath: string): Promise<LoadedSpec> {
  const abs = path.resolve(specPath);
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch (err) {
    throw new MlcycleError('SPEC_INVALID', `cannot read spec ${specPath}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = abs.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new MlcycleError('SPEC_INVALID', `${specPath} is not valid ${abs.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  return pipelineSpecAt(doc, abs, specPath);
}

/** A spec document before validation (defaults not yet applied), as callers of the client API write it. */
export type PipelineSpecInput = z.input<typeof PipelineSpecSchema>;

/**
 * Validates a parsed spec document that lives (or, for a spec object, is taken to live) at
 * `specPath`: relative `file://` sources resolve against its folder.
 */
export function pipelineSpecAt(doc: unknown, specPath: string, origin = specPath): LoadedSpec {
  const abs = path.resolve(specPath);
  const spec = parsePipelineSpec(doc, origin);
  // Relative file:// paths in sections that run later (monitor checks) mean the spec's folder too.
  if (spec.monitor?.source) spec.monitor.source = resolveSource(spec.monitor.source, path.dirname(abs));
  return { spec, specPath: abs, resolvedSource: resolveSource(spec.data.source, path.dirname(abs)) };
}

export function resolveSource(source: string, baseDir: string): string {
  if (!source.startsWith('file://')) return source;
  const p = source.slice('file://'.length);
  return `file://${path.isAbsolute(p) ? p : path.resolve(baseDir, p)}`;
}
