/**
 * JSON read back from the artifact store, parsed by its schema: a document this code did not
 * write (or an older one it cannot read) fails with ARTIFACT_INTEGRITY naming the field, rather
 * than surfacing later as an undefined deep inside a step.
 */
import type { z } from 'zod';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError } from '../errors';
import type { ArtifactRef } from './artifact-store';

export async function readStoredJson<S extends z.ZodType>(store: { getJson(ref: ArtifactRef | string): Promise<unknown> }, ref: ArtifactRef | string, schema: S, what: string): Promise<z.infer<S>> {
  const doc = await store.getJson(ref);
  const r = schema.safeParse(doc);
  if (!r.success) {
    const uri = typeof ref === 'string' ? ref : ref.uri;
    throw new MlcycleError('ARTIFACT_INTEGRITY', `${what} ${uri} is not what this version of mlcycle reads:\n${formatIssues(r.error)}`);
  }
  return r.data;
}
