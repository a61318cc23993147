/**
 * Which local files a worker may read for a spec. Anyone who can start a workflow writes the spec,
 * so a `file://` source is a request, not a permission: the worker reads only below the folders it
 * was started with (`--data-root`, MLCYCLE_DATA_ROOTS; default its working directory), judged
 * after `..` and symbolic links are resolved, so neither a traversal nor a link leads out.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlcycleError } from '../errors';

/** The path with every existing prefix's symlinks resolved (a file not there yet resolves by its folder). */
async function realpathLoose(p: string): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await fs.realpath(abs);
  } catch {
    const parent = path.dirname(abs);
    if (parent === abs) return abs;
    return path.join(await realpathLoose(parent), path.basename(abs));
  }
}

function within(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The local path of a `file://` URI or a bare path; undefined for s3:// and other remote sources. */
export function localPathOf(source: string): string | undefined {
  if (source.startsWith('file://')) {
    try {
      return fileURLToPath(source);
    } catch {
      // file://../x and other relative forms are not valid file URLs: judge them as the path they spell.
      return decodeURIComponent(source.slice('file://'.length));
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) return undefined;
  return source;
}

/**
 * Throws PERMISSION_DENIED naming `field` and the roots when `source` is a local file outside
 * every root. Remote sources (s3://) pass: the storage credentials decide those.
 */
export async function assertInDataRoots(source: string, roots: readonly string[], field: string): Promise<void> {
  const local = localPathOf(source);
  if (local === undefined) return;
  const target = await realpathLoose(local);
  const resolvedRoots = await Promise.all(roots.map(realpathLoose));
  if (resolvedRoots.some((root) => within(target, root))) return;
  throw new MlcycleError(
    'PERMISSION_DENIED',
    `${field}: ${source} is outside this worker's data roots (${resolvedRoots.join(', ') || 'none'}); start the worker with --data-root <dir> (MLCYCLE_DATA_ROOTS) to allow it`,
  );
}
