import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';

const WORKFLOWS_DIR = path.join(__dirname, '..', '..', 'workflows');
/** workflows/index.ts from sources, dist/workflows/index.js when compiled. */
export const WORKFLOWS_PATH = ['index.ts', 'index.js'].map((f) => path.join(WORKFLOWS_DIR, f)).find((f) => fs.existsSync(f)) ?? path.join(WORKFLOWS_DIR, 'index.js');
/** Written by `npm run build` next to the compiled code. */
const PREBUILT = path.join(__dirname, '..', '..', 'workflow-bundle.js');

/**
 * The workflow bundle, built once: the compiled CLI ships one from `npm run build`; a run from
 * sources bundles in memory once per process and shares it between the CPU and GPU workers.
 */
let inMemory: Promise<WorkflowBundleOption> | undefined;
export function loadWorkflowBundle(): Promise<WorkflowBundleOption> {
  if (__filename.endsWith('.js') && fs.existsSync(PREBUILT)) {
    return Promise.resolve({ codePath: PREBUILT });
  }
  inMemory ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger }).then((b) => ({ code: b.code }));
  return inMemory;
}

export async function writeWorkflowBundle(outFile: string): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, code);
}

// The bundler logs every webpack step at info level; only problems are worth a user's attention.
const noop = () => undefined;
export const quietLogger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: (msg: string, meta?: unknown) => console.warn(msg, meta ?? ''),
  error: (msg: string, meta?: unknown) => console.error(msg, meta ?? ''),
  log: noop,
};
