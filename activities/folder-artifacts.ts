import fs from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRef, ArtifactStore } from '../src/storage/artifact-store';
import { FolderIndexSchema, type FolderIndex } from '../src/storage/folder-index';
import { readStoredJson } from '../src/storage/stored-json';


/** Uploads every file of a folder (content-addressed) and returns the URI of its index. */
export async function uploadFolder(store: ArtifactStore, dir: string): Promise<{ uri: string; files: Record<string, string> }> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, ArtifactRef> = {};
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const abs = path.join(entry.parentPath, entry.name);
    files[path.relative(dir, abs)] = await store.putFile(abs);
  }
  const index: FolderIndex = { format: 'mlcycle-folder/v1', files };
  const ref = await store.putJson(index);
  return { uri: ref.uri, files: Object.fromEntries(Object.entries(files).map(([k, v]) => [k, v.uri])) };
}

/** Recreates a folder uploaded by uploadFolder (each file hash-verified). */
export async function downloadFolder(store: ArtifactStore, indexUri: string, dir: string): Promise<void> {
  const index = await readStoredJson(store, indexUri, FolderIndexSchema, 'folder index');
  for (const [rel, ref] of Object.entries(index.files)) {
    const target = path.resolve(dir, rel);
    // An index is data: never let it write outside the folder.
    if (!target.startsWith(path.resolve(dir) + path.sep)) throw new Error(`folder index entry escapes its folder: ${rel}`);
    await fs.mkdir(path.dirname(target), { recursive: true });
    await store.getToFile(ref, target);
  }
}
