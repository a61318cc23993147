/**
 * A command trainer's model as stored: the folder index of its output folder (activities/
 * folder-artifacts.ts) holding model.onnx and mlcycle-model.json, or trainer-written predictions.
 */
import { z } from 'zod';
import { MlcycleError } from '../errors';
import type { ArtifactRef, ContentStore } from '../storage/artifact-store';
import { FolderIndexSchema } from '../storage/folder-index';
import type { TaskType } from '../training/feature-matrix';
import { ONNX_META_FILE, ONNX_MODEL_FILE, OnnxModel, type OnnxFeature } from './onnx-model';

export const PREDICTIONS_FILE = 'predictions.json';


/** The files of a stored output folder, or undefined when `uri` is not a folder index (a built-in model). */
export async function readOutputFolder(store: ContentStore, uri: string): Promise<Record<string, ArtifactRef> | undefined> {
  const doc = await store.getJson(uri);
  const r = FolderIndexSchema.safeParse(doc);
  return r.success ? r.data.files : undefined;
}

export function hasOnnxModel(files: Record<string, ArtifactRef>): boolean {
  return files[ONNX_MODEL_FILE] !== undefined;
}

/** Loads the ONNX model of an output folder, checked against the spec's features and task. */
export async function loadOnnxFromFolder(
  store: ContentStore,
  files: Record<string, ArtifactRef>,
  features: readonly OnnxFeature[],
  task: TaskType,
): Promise<OnnxModel> {
  const model = files[ONNX_MODEL_FILE];
  const meta = files[ONNX_META_FILE];
  if (!model) throw new MlcycleError('ARTIFACT_INTEGRITY', `the trainer's output folder has no ${ONNX_MODEL_FILE}`);
  if (!meta) throw new MlcycleError('ARTIFACT_INTEGRITY', `the trainer's output folder has ${ONNX_MODEL_FILE} but no ${ONNX_META_FILE} (python/mlcycle_trainer writes both)`);
  const bytes = await store.getBytes(model);
  return OnnxModel.load(new Uint8Array(bytes), await store.getJson(meta), features, task);
}

const Predictions = z
  .object({ format: z.literal('mlcycle-predictions/v1'), task: z.enum(['binary', 'multiclass', 'regression']), predictions: z.array(z.union([z.number(), z.array(z.number())])) })
  .loose();

/** Trainer-written predictions for the test rows (ctx.predict_test), checked against the row count. */
export async function readTrainerPredictions(store: ContentStore, files: Record<string, ArtifactRef>, task: TaskType, rows: number): Promise<number[] | number[][] | undefined> {
  const ref = files[PREDICTIONS_FILE];
  if (!ref) return undefined;
  const r = Predictions.safeParse(await store.getJson(ref));
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new MlcycleError('ARTIFACT_INTEGRITY', `${PREDICTIONS_FILE} is invalid:\n${lines.join('\n')}`);
  }
  if (r.data.task !== task) throw new MlcycleError('ARTIFACT_INTEGRITY', `${PREDICTIONS_FILE} holds ${r.data.task} predictions, but the spec trains ${task}`);
  if (r.data.predictions.length !== rows) {
    throw new MlcycleError('ARTIFACT_INTEGRITY', `${PREDICTIONS_FILE} holds ${r.data.predictions.length} predictions for ${rows} test rows`);
  }
  const bad = r.data.predictions.findIndex((p) => (Array.isArray(p) ? p.some((x) => !Number.isFinite(x)) : !Number.isFinite(p)));
  if (bad >= 0) throw new MlcycleError('ARTIFACT_INTEGRITY', `${PREDICTIONS_FILE}: prediction ${bad} is not a finite number`);
  return r.data.predictions as number[] | number[][];
}

export const SERVING_FILE = 'mlcycle-serving.json';

/** What mlcycle itself wrote beside a command trainer's model (activities/command-data.ts): the spec's features and task. */
const ServingDescription = z.object({
  format: z.literal('mlcycle-serving/v1'),
  task: z.enum(['binary', 'multiclass', 'regression']),
  /** A binary category target names its classes (`positive` is the last declared value, as for built-in models). */
  target: z.object({ name: z.string(), type: z.string().optional(), positive: z.string().optional(), negative: z.string().optional() }).loose(),
  features: z.array(
    z
      .object({
        name: z.string().min(1),
        type: z.enum(['number', 'boolean', 'category']),
        values: z.array(z.string()).optional(),
        /** Number features: the training split's mean and standard deviation (absent in descriptions written before them). */
        mean: z.number().optional(),
        std: z.number().nonnegative().optional(),
      })
      .strict(),
  ),
  classes: z.array(z.string()).optional(),
  /** The spec's `serve` section (the out-of-range rule), as built-in models carry it. */
  serve: z.object({ outOfRange: z.enum(['refuse', 'clip', 'allow']) }).loose().optional(),
});
export type ServingDescription = z.infer<typeof ServingDescription>;

/**
 * The ONNX model of a registered command-trainer version with the features to validate requests
 * against; undefined when `modelUri` is not an output folder with model.onnx (a built-in model).
 */
export async function loadServableOnnx(store: ContentStore, modelUri: string): Promise<{ model: OnnxModel; description: ServingDescription } | undefined> {
  const files = await readOutputFolder(store, modelUri);
  if (!files || !hasOnnxModel(files)) return undefined;
  const ref = files[SERVING_FILE];
  if (!ref) throw new MlcycleError('ARTIFACT_INTEGRITY', `${modelUri}: the model folder has no ${SERVING_FILE}`);
  const parsed = ServingDescription.safeParse(await store.getJson(ref));
  if (!parsed.success) throw new MlcycleError('ARTIFACT_INTEGRITY', `${SERVING_FILE} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const description = parsed.data;
  return { model: await loadOnnxFromFolder(store, files, description.features, description.task), description };
}
