import os from 'node:os';
import path from 'node:path';
import type { WorkerPermissions } from '../../src/worker/worker-permissions';

/**
 * What the suite's workers allow: data from the temp folder (spec workspaces) and the repository
 * (fixtures), and `node` as a command trainer. Workers started as processes get the same through
 * MLCYCLE_DATA_ROOTS / MLCYCLE_ALLOWED_COMMANDS (see worker-processes.ts). Kept apart from
 * test-env.ts (which imports vitest) so benches can start workers with the same permissions.
 */
export const TEST_DATA_ROOTS = [os.tmpdir(), path.join(__dirname, '..', '..')];
export const TEST_PERMISSIONS: WorkerPermissions = { allowedCommands: ['node'], dataRoots: TEST_DATA_ROOTS, allowedEnv: [] };
