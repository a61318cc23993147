/**
 * The `tune:` section of a pipeline spec.
 *
 *   tune:
 *     strategy: random        # grid | random | tpe (model-based) | asha (early stopping)
 *     trials: 40
 *     concurrency: 8
 *     seed: 7
 *     metric: auc
 *     direction: maximize     # default: maximize, minimize for logloss
 *     space:
 *       learningRate: { loguniform: [0.001, 0.5] }
 *       epochs: { int: [10, 100] }
 *       trainer: { choice: [logistic-regression, gradient-boosting] }
 *
 * Distributions (exactly one per dimension):
 *   { uniform: [lo, hi] }      floats in [lo, hi]
 *   { loguniform: [lo, hi] }   floats in [lo, hi], uniform in log space; lo > 0
 *   { int: [lo, hi] }          integers, both ends included
 *   { choice: [a, b, ...] }    strings, numbers or booleans; at least one
 *   { values: [a, b, ...] }    the same as choice (reads better for grid search)
 * Grid search takes every choice/values entry and every integer of an int range; a uniform or
 * loguniform range needs `steps: n` (n evenly spaced points, log-spaced for loguniform, ends
 * included), and an int range may take `steps` too. Other strategies ignore `steps`.
 *
 * `asha:` configures early stopping (strategy asha = random suggestions + ASHA stopping; the
 * section may also be given with grid/random/tpe to stop their trials early):
 *   asha: { minResource: 1, reductionFactor: 3, maxResource: 100 }
 * The resource is epochs. maxResource defaults to the upper end of the space's `epochs`
 * dimension; when the space has one, every suggested trial gets epochs = maxResource (ASHA
 * allocates epochs by stopping the bad trials early rather than by sampling epochs; grid search
 * keeps the epochs it enumerates).
 *
 * `tpe:` tunes the model-based strategy: { startupTrials, gamma, candidates, priorWeight,
 * multivariate } (see tpe.ts; multivariate defaults to true).
 *
 * This file must stay importable from workflow code: zod only, no Node built-ins, and nothing at
 * runtime from the pipeline-spec module (which reads files).
 */
import { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import type { BUILTIN_TRAINERS, MetricName } from '../spec/pipeline-spec';
import { dimensionSpec, gridValues } from './space';

export const TUNE_STRATEGIES = ['grid', 'random', 'tpe', 'asha'] as const;
export type TuneStrategyName = (typeof TUNE_STRATEGIES)[number];

/** The same list as pipeline-spec's METRICS (a test keeps them equal; importing it here would pull Node's fs into workflow bundles). */
export const TUNE_METRICS = [
  'auc', 'accuracy', 'f1', 'precision', 'recall', 'logloss',
  'pr_auc', 'balanced_accuracy', 'brier',
  'macro_f1', 'weighted_f1', 'auc_ovr',
  'rmse', 'mae', 'r2', 'mape',
] as const satisfies readonly MetricName[];
/** Metrics where lower is better (the study's default direction minimizes them). */
const TUNE_LOWER_IS_BETTER: readonly string[] = ['logloss', 'brier', 'rmse', 'mae', 'mape'];

/** Values a `trainer` dimension may take: the built-in trainers and `command`. */
const TRAINER_VALUES = ['logistic-regression', 'gradient-boosting', 'command'] as const satisfies readonly (
  | (typeof BUILTIN_TRAINERS)[number]
  | 'command'
)[];

export type ParamValue = number | string | boolean;
export type TrialParams = Record<string, ParamValue>;

const DISTRIBUTIONS = ['uniform', 'loguniform', 'int', 'choice', 'values'] as const;

const Range = z.tuple([z.number(), z.number()], { error: 'expected [min, max]' });
const IntRange = z.tuple([z.number().int('must be an integer'), z.number().int('must be an integer')], { error: 'expected [min, max]' });
const Steps = z.number().int('must be an integer').min(1, 'must be >= 1').optional();
const Value = z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' });
const Values = z.array(Value, { error: 'expected a list of values' }).min(1, 'needs at least one value');

const minLeMax = { message: 'min must be <= max' };

const UniformDim = z
  .object({ uniform: Range, steps: Steps })
  .strict()
  .refine((d) => d.uniform[0] <= d.uniform[1], { ...minLeMax, path: ['uniform'] });
const LogUniformDim = z
  .object({ loguniform: Range, steps: Steps })
  .strict()
  .refine((d) => d.loguniform[0] > 0, { message: 'min must be > 0 (log scale)', path: ['loguniform'] })
  .refine((d) => d.loguniform[0] <= d.loguniform[1], { ...minLeMax, path: ['loguniform'] });
const IntDim = z
  .object({ int: IntRange, steps: Steps })
  .strict()
  .refine((d) => d.int[0] <= d.int[1], { ...minLeMax, path: ['int'] });
const ChoiceDim = z.object({ choice: Values }).strict();
const ValuesDim = z.object({ values: Values }).strict();

const DIMENSION_SCHEMAS = { uniform: UniformDim, loguniform: LogUniformDim, int: IntDim, choice: ChoiceDim, values: ValuesDim } as const;

export type Dimension =
  | z.infer<typeof UniformDim>
  | z.infer<typeof LogUniformDim>
  | z.infer<typeof IntDim>
  | z.infer<typeof ChoiceDim>
  | z.infer<typeof ValuesDim>;

const DimensionSchema = z.unknown().transform((raw, ctx): Dimension => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    ctx.addIssue({ code: 'custom', message: `expected a distribution such as { uniform: [min, max] } (one of ${DISTRIBUTIONS.join(', ')})` });
    return z.NEVER;
  }
  const keys = Object.keys(raw);
  const kinds = keys.filter((k): k is keyof typeof DIMENSION_SCHEMAS => k in DIMENSION_SCHEMAS);
  if (kinds.length === 0) {
    const given = keys.filter((k) => k !== 'steps');
    ctx.addIssue({
      code: 'custom',
      message: `unknown distribution${given.length ? ` ${given.map((k) => JSON.stringify(k)).join(', ')}` : ''}: expected one of ${DISTRIBUTIONS.join(', ')}`,
    });
    return z.NEVER;
  }
  if (kinds.length > 1) {
    ctx.addIssue({ code: 'custom', message: `give exactly one distribution, got ${kinds.join(' and ')}` });
    return z.NEVER;
  }
  const result = DIMENSION_SCHEMAS[kinds[0] as keyof typeof DIMENSION_SCHEMAS].safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
    return z.NEVER;
  }
  return result.data;
});

const AshaSection = z
  .object({
    /** Epochs a trial always gets before it can be stopped (the first rung). */
    minResource: z.number().int('must be an integer').min(1, 'must be >= 1').default(1),
    /** η: rungs sit at minResource·η^k, and a trial continues past a rung only in the top 1/η there. */
    reductionFactor: z.number().gt(1, 'must be > 1').default(3),
    /** Epochs of a trial that is never stopped; default: the upper end of the space's epochs dimension. */
    maxResource: z.number().int('must be an integer').min(1, 'must be >= 1').optional(),
  })
  .strict();

const TpeSection = z
  .object({
    /** Random trials before the model takes over; default min(10, max(2, ceil(trials / 4))). */
    startupTrials: z.number().int('must be an integer').min(0, 'must be >= 0').optional(),
    /** Fraction of the completed trials that make up the "good" group. */
    gamma: z.number().gt(0, 'must be > 0').lt(1, 'must be < 1').default(0.25),
    /** Candidates drawn from l(x) per dimension; the one with the largest l(x)/g(x) wins. */
    candidates: z.number().int('must be an integer').min(1, 'must be >= 1').default(24),
    /** Weight of the prior (uniform over the range) in each Parzen mixture. */
    priorWeight: z.number().gt(0, 'must be > 0').default(1),
    /** Joint (multivariate) kernels instead of one independent density per dimension; default true. */
    multivariate: z.boolean().optional(),
  })
  .strict();

const TuneSectionShape = z
  .object({
    strategy: z.enum(TUNE_STRATEGIES, { error: `expected one of ${TUNE_STRATEGIES.join(', ')}` }).default('random'),
    /** Configurations to try; grid default: the whole product, others: 20. */
    trials: z.number().int('must be an integer').min(1, 'must be >= 1').optional(),
    /** Trials running at once. */
    concurrency: z.number().int('must be an integer').min(1, 'must be >= 1').default(1),
    seed: z.number().int('must be an integer').default(0),
    metric: z.enum(TUNE_METRICS, { error: `expected one of ${TUNE_METRICS.join(', ')}` }).default('auc'),
    direction: z.enum(['maximize', 'minimize'], { error: 'expected maximize or minimize' }).optional(),
    space: z
      .record(z.string().min(1, 'a parameter name cannot be empty'), DimensionSchema, { error: 'expected a map of parameter name to distribution' })
      .refine((s) => Object.keys(s).length > 0, 'needs at least one parameter to tune'),
    asha: AshaSection.optional(),
    tpe: TpeSection.optional(),
  })
  .strict();

/** Most values an int or float dimension of a grid may enumerate: grid search materializes each dimension's list. */
export const MAX_GRID_VALUES = 10_000;

/** Largest number in an epochs dimension (int upper end, or the largest numeric choice). */
function epochsMax(dim: Dimension | undefined): number | undefined {
  if (!dim) return undefined;
  const d = dimensionSpec('epochs', dim);
  if (d.kind === 'choice') {
    const nums = d.values.filter((v): v is number => typeof v === 'number');
    // A loop, not Math.max(...nums): spreading a long list overflows the call stack.
    return nums.length === d.values.length ? nums.reduce((a, b) => (b > a ? b : a), -Infinity) : undefined;
  }
  return Number.isInteger(d.high) ? d.high : Math.floor(d.high);
}

export const TuneSpecSchema = TuneSectionShape.superRefine((t, ctx) => {
  for (const [name, dim] of Object.entries(t.space)) {
    const d = dimensionSpec(name, dim);
    if (t.strategy === 'grid' && d.kind === 'float' && d.steps === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['space', name, 'steps'],
        message: `grid search over a continuous ${d.log ? 'loguniform' : 'uniform'} range needs steps: n (n evenly spaced values), or list them with values: [...]`,
      });
    }
    // Counted, never enumerated: an int range like [0, 1e12] would exhaust memory before failing.
    const points = d.kind === 'int' ? (d.steps ?? d.high - d.low + 1) : d.kind === 'float' ? (d.steps ?? 1) : 0;
    if (t.strategy === 'grid' && points > MAX_GRID_VALUES) {
      ctx.addIssue({
        code: 'custom',
        path: ['space', name, d.kind === 'int' && d.steps === undefined ? 'int' : 'steps'],
        message: `grid search would enumerate ${points} values of this dimension (at most ${MAX_GRID_VALUES}); use fewer steps or a narrower range`,
      });
    }
  }
  const trainer = t.space.trainer;
  if (trainer) {
    const d = dimensionSpec('trainer', trainer);
    const key = 'choice' in trainer ? 'choice' : 'values';
    if (d.kind !== 'choice') {
      ctx.addIssue({ code: 'custom', path: ['space', 'trainer'], message: `trainer takes choice: [${TRAINER_VALUES.join(', ')}]` });
    } else {
      d.values.forEach((v, i) => {
        if (!(TRAINER_VALUES as readonly ParamValue[]).includes(v)) {
          ctx.addIssue({ code: 'custom', path: ['space', 'trainer', key, i], message: `unknown trainer ${JSON.stringify(v)}: expected one of ${TRAINER_VALUES.join(', ')}` });
        }
      });
    }
  }
  if (t.strategy === 'asha' || t.asha) {
    const asha = t.asha ?? { minResource: 1, reductionFactor: 3 };
    const epochs = t.space.epochs;
    const max = asha.maxResource ?? epochsMax(epochs);
    if (max === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['asha', 'maxResource'],
        message: epochs ? 'cannot be derived from space.epochs (not numeric); set it' : 'required when tune.space has no epochs dimension',
      });
    } else if (asha.minResource > max) {
      ctx.addIssue({ code: 'custom', path: ['asha', 'minResource'], message: `must be <= maxResource (${max})` });
    }
  }
}).transform((t) => {
  const grid = t.strategy === 'grid' ? Object.entries(t.space).reduce((n, [name, dim]) => n * gridValues(dimensionSpec(name, dim)).length, 1) : 0;
  const trials = t.trials ?? (t.strategy === 'grid' ? grid : 20);
  const direction = t.direction ?? (TUNE_LOWER_IS_BETTER.includes(t.metric) ? 'minimize' : 'maximize');
  let asha: ResolvedAsha | undefined;
  if (t.strategy === 'asha' || t.asha) {
    const a = t.asha ?? { minResource: 1, reductionFactor: 3 };
    asha = { minResource: a.minResource, reductionFactor: a.reductionFactor, maxResource: a.maxResource ?? (epochsMax(t.space.epochs) as number) };
  }
  const { asha: _a, trials: _t, direction: _d, ...rest } = t;
  return { ...rest, trials, direction, ...(asha ? { asha } : {}) };
});

export interface ResolvedAsha {
  minResource: number;
  reductionFactor: number;
  maxResource: number;
}

/** A parsed, defaulted `tune:` section; plain JSON, and parsing it again gives it back unchanged. */
export interface TuneSpec {
  strategy: TuneStrategyName;
  trials: number;
  concurrency: number;
  seed: number;
  metric: (typeof TUNE_METRICS)[number];
  direction: 'maximize' | 'minimize';
  space: Record<string, Dimension>;
  /** Present for strategy asha, and whenever the spec gave an asha section. */
  asha?: ResolvedAsha;
  tpe?: z.infer<typeof TpeSection>;
}

export type TuneSpecInput = z.input<typeof TuneSpecSchema>;

/** Validates a `tune:` section; throws SPEC_INVALID listing every bad field as `tune.<path>: message`. */
export function parseTuneSpec(doc: unknown, prefix = 'tune'): TuneSpec {
  const result = TuneSpecSchema.safeParse(doc);
  if (!result.success) {
    throw new MlcycleError('SPEC_INVALID', `${prefix} is invalid:\n${formatIssues(result.error, prefix)}`);
  }
  return result.data;
}
