import fs from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleOption } from '@temporalio/worker';
import { FAILURE_CONVERTER_PATH } from '../codec/data-converter';

const WORKFLOWS_DIR = path.join(__dirname, '..', '..', 'workflows');
/** workflows/index.ts from sources, dist/workflows/index.js when compiled. */
export const WORKFLOWS_PATH = ['index.ts', 'index.js'].map((f) => path.join(WORKFLOWS_DIR, f)).find((f) => fs.existsSync(f)) ?? path.join(WORKFLOWS_DIR, 'index.js');
/** Written by `npm run build` next to the compiled code. */
const PREBUILT = path.join(__dirname, '..', '..', 'workflow-bundle.js');
/**
 * With tracing on, workflows run the OpenTelemetry workflow interceptors, which only a bundle can
 * carry; without it they stay out, so an untraced worker pays nothing for them.
 */
const WORKFLOW_TRACING_INTERCEPTORS = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');
const tracingVariant = (bundleFile: string) => bundleFile.replace(/(\.js)?$/, '-tracing.js');

/**
 * The workflow bundle, built once: the compiled CLI ships one from `npm run build`; a run from
 * sources bundles in memory once per process and shares it between the CPU and GPU workers.
 */
const inMemory = new Map<boolean, Promise<WorkflowBundleOption>>();
export function loadWorkflowBundle(opts: { tracing?: boolean } = {}): Promise<WorkflowBundleOption> {
  const tracing = opts.tracing ?? false;
  const prebuilt = tracing ? tracingVariant(PREBUILT) : PREBUILT;
  if (__filename.endsWith('.js') && fs.existsSync(prebuilt)) {
    return Promise.resolve({ codePath: prebuilt });
  }
  let bundle = inMemory.get(tracing);
  if (!bundle) {
    bundle = buildBundle(tracing).then((b) => ({ code: b.code }));
    inMemory.set(tracing, bundle);
  }
  return bundle;
}

/** Writes `outFile` and, next to it, its tracing variant (`…-tracing.js`). */
export async function writeWorkflowBundle(outFile: string): Promise<void> {
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  for (const tracing of [false, true]) {
    const { code } = await buildBundle(tracing);
    fs.writeFileSync(tracing ? tracingVariant(outFile) : outFile, code);
  }
}

function buildBundle(tracing: boolean) {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: quietLogger,
    ...(tracing ? { workflowInterceptorModules: [WORKFLOW_TRACING_INTERCEPTORS] } : {}),
  });
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
