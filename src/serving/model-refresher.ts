/**
 * Hot swap: re-reads the deployment record (or the registry alias) every `refreshMs`; when the
 * versions change it loads the new model(s) first (registry record, download, parse, build the
 * input schema) and then swaps the router's routing in one assignment, so requests in flight
 * finish on the model they began with. A failed load leaves the old model serving and is logged
 * once per distinct error; the next refresh tries again.
 */
import { MlcycleError } from '../errors';
import { loadServableOnnx } from '../onnx/onnx-artifact';
import type { ModelRegistry, ModelVersion } from '../registry/model-registry';
import type { ArtifactStore } from '../storage/artifact-store';
import { parseModelArtifact } from '../training/model-artifact';
import { describeRouting, type CanaryRouter, type LoadedModel, type Routing } from './canary-router';
import { readDeploymentRecord } from './deployment-record';
import type { ProblemLog } from './problem-log';
import { artifactRangeCheck, buildRequestSchema, onnxRangeCheck, requestColumns } from './request-checks';
import type { ServingMetrics } from './serving-metrics';

interface Target {
  stable: number;
  /** Already read from the registry (alias path), so it need not be read again. */
  stableRecord?: ModelVersion;
  canary?: { version: number; percent: number };
  source: 'deployment record' | 'alias';
}

export interface ModelRefresherOptions {
  store: ArtifactStore;
  registry: ModelRegistry;
  model: string;
  alias: string;
  maxRows: number;
  refreshMs: number;
  router: CanaryRouter;
  metrics: ServingMetrics;
  problems: ProblemLog;
  log: (line: string) => void;
}

export interface ModelRefresher {
  /** Re-reads the record / alias now (refreshes never overlap). Never rejects. */
  refresh(): Promise<void>;
  /** Refreshes every refreshMs from now on. */
  start(): void;
  /** No further refreshes; resolves once the one in progress (if any) is done. */
  stop(): Promise<void>;
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function createModelRefresher(options: ModelRefresherOptions): ModelRefresher {
  const { store, registry, model, alias, maxRows, router, metrics, problems, log } = options;

  async function resolveTarget(): Promise<Target | undefined> {
    const record = await readDeploymentRecord(store, model, alias);
    if (record) {
      return { stable: record.stable.version, ...(record.canary ? { canary: { ...record.canary } } : {}), source: 'deployment record' };
    }
    const version = await registry.resolveAlias(model, alias);
    return version ? { stable: version.version, stableRecord: version, source: 'alias' } : undefined;
  }

  async function load(version: number, known?: ModelVersion): Promise<LoadedModel> {
    const routing = router.routing();
    for (const m of [routing?.stable, routing?.canary?.model]) if (m?.version === version) return m;
    const record = known ?? (await registry.getVersion(model, version));
    if (!record) throw new MlcycleError('NOT_FOUND', `model "${model}" has no version ${version}`);
    const onnx = await loadServableOnnx(store, record.modelUri);
    if (onnx) {
      const classes = onnx.description.classes ?? [];
      if (onnx.description.task === 'multiclass' && (classes.length < 2 || new Set(classes).size !== classes.length)) {
        await onnx.model.release();
        throw new MlcycleError('ARTIFACT_INTEGRITY', `${record.modelUri}: a multiclass ONNX model needs its class labels (classes: at least 2 distinct names in mlcycle-serving.json; the spec's target must be a category)`);
      }
      return { version, modelUri: record.modelUri, onnx, body: buildRequestSchema(requestColumns(onnx.description.features), maxRows), range: onnxRangeCheck(onnx.description) };
    }
    const artifact = parseModelArtifact(await store.getJson(record.modelUri));
    return { version, modelUri: record.modelUri, artifact, body: buildRequestSchema(artifact.encoder, maxRows), range: artifactRangeCheck(artifact) };
  }

  const unchanged = (r: Routing | undefined, t: Target): boolean =>
    r !== undefined &&
    r.stable.version === t.stable &&
    r.canary?.model.version === t.canary?.version &&
    r.canary?.percent === t.canary?.percent;

  async function refreshOnce(): Promise<void> {
    let target: Target | undefined;
    try {
      target = await resolveTarget();
      if (!target) {
        problems.report(
          router.routing()
            ? `model "${model}": alias "${alias}" is no longer set and there is no deployment record; still serving ${describeRouting(router.routing())}`
            : `model "${model}": alias "${alias}" is not set and there is no deployment record yet; /predict answers 503 until one is`,
        );
        return;
      }
      if (unchanged(router.routing(), target)) {
        problems.clear();
        return;
      }
      const canaryTarget = target.canary;
      // Load first (download + parse), swap after: requests keep being served by the old models.
      const [stable, canary] = await Promise.all([
        load(target.stable, target.stableRecord),
        canaryTarget ? load(canaryTarget.version) : Promise.resolve(undefined),
      ]);
      const next: Routing = { stable, ...(canary && canaryTarget ? { canary: { model: canary, percent: canaryTarget.percent } } : {}) };
      const previous = router.routing();
      router.swap(next);
      metrics.setServing(stable.version, next.canary ? { version: next.canary.model.version, percent: next.canary.percent } : undefined);
      problems.clear();
      log(`model "${model}" (${alias}, from the ${target.source}): now serving ${describeRouting(next)}${previous ? ` (was ${describeRouting(previous)})` : ''}`);
    } catch (err) {
      const wanted = target ? `v${target.stable}${target.canary ? ` + canary v${target.canary.version}` : ''}` : 'the deployment';
      const routing = router.routing();
      problems.report(`model "${model}" (${alias}): could not load ${wanted}: ${errorText(err)}; ${routing ? `still serving ${describeRouting(routing)}` : 'nothing is serving yet'}`);
    }
  }

  let chain: Promise<void> = Promise.resolve();
  const refresh = (): Promise<void> => (chain = chain.then(refreshOnce));

  let timer: NodeJS.Timeout | undefined;
  let running = false;
  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      void refresh().then(schedule);
    }, options.refreshMs);
  }

  return {
    refresh,
    start() {
      running = true;
      schedule();
    },
    async stop() {
      running = false;
      if (timer) clearTimeout(timer);
      await chain;
    },
  };
}
