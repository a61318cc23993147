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

const DataSection = z
  .object({
    source: DataSourceUri,
    format: z.enum(['csv', 'parquet', 'jsonl']).optional(),
    target: z.string().min(1),
    schema: z.record(z.string().min(1), ColumnRule),
    split: z
      .object({
        test: z.number().gt(0, 'must be > 0').lt(1, 'must be < 1').default(0.2),
        seed: z.number().int().default(42),
      })
      .strict()
      .default({ test: 0.2, seed: 42 }),
  })
  .strict()
  // Own keys only: `in` would also find inherited names such as "toString" or "constructor".
  .refine((d) => Object.hasOwn(d.schema, d.target), { message: 'target must be a column declared in data.schema', path: ['target'] });

const ValidationSection = z
  .object({
    minRows: z.number().int().nonnegative().default(1),
    maxMissingFraction: z.number().min(0).max(1).default(0.05),
    /** For a categorical/boolean target: the smallest class must make up at least this fraction. */
    minClassFraction: z.number().min(0).max(0.5).optional(),
    /** Reference data to compare distributions with (PSI per numeric column). */
    reference: DataSourceUri.optional(),
    maxPsi: z.number().positive().optional(),
  })
  .strict()
  .default({ minRows: 1, maxMissingFraction: 0.05 });

export const BUILTIN_TRAINERS = ['logistic-regression', 'gradient-boosting'] as const;

const TrainSection = z
  .object({
    trainer: z.enum([...BUILTIN_TRAINERS, 'command']),
    /** What the target is trained as; see src/training/task-type.ts for the default. */
    task: z.enum(['binary', 'multiclass', 'regression']).optional(),
    params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).default({}),
    resources: z
      .object({ queue: z.enum(['cpu', 'gpu']).default('cpu') })
      .strict()
      .default({ queue: 'cpu' }),
    checkpointEvery: z.number().int().positive().default(5),
    /** For trainer `command`: the program and its arguments, run in the spec's folder. */
    command: z.array(z.string().min(1)).min(1).optional(),
    timeout: z.string().regex(/^\d+(ms|s|m|h|d)$/, 'expected a duration like 30m or 2h').default('2h'),
    /** Attempts of the training step (a killed worker or a crashing program counts as one). */
    maxAttempts: z.number().int().min(1).max(100).default(5),
  })
  .strict()
  .refine((t) => t.trainer !== 'command' || t.command !== undefined, {
    message: 'trainer "command" needs train.command (the program and its arguments)',
    path: ['command'],
  });

export const METRICS = ['auc', 'accuracy', 'f1', 'precision', 'recall', 'logloss', 'rmse', 'mae', 'r2', 'mape'] as const;
export type MetricName = (typeof METRICS)[number];

const EvaluateSection = z
  .object({
    metrics: z.array(z.enum(METRICS)).min(1).default(['auc', 'accuracy', 'f1']),
    thresholds: z.partialRecord(z.enum(METRICS), z.number()).default({}),
    compareToChampion: z
      .object({ metric: z.enum(METRICS), minImprovement: z.number().default(0), alias: z.string().default('production') })
      .strict()
      .optional(),
  })
  .strict()
  .default({ metrics: ['auc', 'accuracy', 'f1'], thresholds: {} });

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
        serviceUrl: z.string().url().default('http://127.0.0.1:8080'),
        /** Canary requests needed before the guardrails judge (fewer: the bake goes on). */
        minRequests: z.number().int().nonnegative().default(20),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((d) => d.strategy !== 'canary' || d.canary !== undefined, { message: 'strategy canary needs deploy.canary', path: ['canary'] });
export type DeploySpec = z.infer<typeof DeploySection>;

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
    monitor: MonitorSection.optional(),
  })
  .strict();
export type PipelineSpec = z.infer<typeof PipelineSpecSchema>;

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
  const spec = parsePipelineSpec(doc, specPath);
  // Relative file:// paths in sections that run later (monitor checks) mean the spec's folder too.
  if (spec.monitor?.source) spec.monitor.source = resolveSource(spec.monitor.source, path.dirname(abs));
  return { spec, specPath: abs, resolvedSource: resolveSource(spec.data.source, path.dirname(abs)) };
}

export function resolveSource(source: string, baseDir: string): string {
  if (!source.startsWith('file://')) return source;
  const p = source.slice('file://'.length);
  return `file://${path.isAbsolute(p) ? p : path.resolve(baseDir, p)}`;
}
