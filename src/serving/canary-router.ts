/**
 * Which loaded model answers a request: the stable one, or the canary for exactly `percent` of
 * every 100 requests, spread evenly by a credit counter rather than a coin (50% alternates).
 */
import type { z } from 'zod';
import type { ServingDescription } from '../onnx/onnx-artifact';
import type { OnnxModel } from '../onnx/onnx-model';
import type { ModelArtifact } from '../training/model-artifact';
import type { Row } from '../training/row-matrix-adapter';
import type { RangeCheck } from './request-checks';

/** A model version ready to answer: its request schema built, its artifact parsed. */
export interface LoadedModel {
  version: number;
  modelUri: string;
  /** A built-in model, or… */
  artifact?: ModelArtifact;
  /** …a command trainer's ONNX model (src/onnx). */
  onnx?: { model: OnnxModel; description: ServingDescription };
  body: z.ZodType<{ rows: Row[] }>;
  /** Numeric inputs far outside the training data (serve.outOfRange), built once at load. */
  range: RangeCheck;
}

/** What serves: replaced as a whole on a swap, so a request that read it keeps a consistent view. */
export interface Routing {
  stable: LoadedModel;
  canary?: { model: LoadedModel; percent: number };
}

export interface CanaryRouter {
  /** The routing now; undefined until a model is loaded. Read it once per request. */
  routing(): Routing | undefined;
  /** Swaps in new routing and restarts the canary's count. */
  swap(next: Routing): void;
  /** The model for the next request under `r` (the routing the request read). */
  pick(r: Routing): LoadedModel;
}

export function createCanaryRouter(): CanaryRouter {
  let current: Routing | undefined;
  /** Canary credit: +percent per request; a request that brings it to 100 goes to the canary. */
  let credit = 0;
  return {
    routing: () => current,
    swap(next) {
      current = next;
      credit = 0;
    },
    pick(r) {
      if (!r.canary || r.canary.percent <= 0) return r.stable;
      credit += r.canary.percent;
      if (credit >= 100) {
        credit -= 100;
        return r.canary.model;
      }
      return r.stable;
    },
  };
}

export function describeRouting(r: Routing | undefined): string {
  if (!r) return 'nothing';
  return `v${r.stable.version}${r.canary ? ` + canary v${r.canary.model.version} at ${r.canary.percent}%` : ''}`;
}
