/**
 * A stored folder (a command trainer's output or checkpoint folder): an index object naming each
 * file's content-addressed ref. Written by activities/folder-artifacts.ts.
 */
import { z } from 'zod';

export const FolderIndexSchema = z.object({
  format: z.literal('mlcycle-folder/v1'),
  files: z.record(z.string(), z.object({ uri: z.string().min(1), sha256: z.string(), size: z.number().int().nonnegative() })),
});
export type FolderIndex = z.infer<typeof FolderIndexSchema>;
