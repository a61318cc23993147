import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll } from 'vitest';
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { installRuntime } from '../../src/dev/dev-environment';
import { ALL_SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

const SCRIPT = path.join(__dirname, '..', '..', 'scripts', 'temporal-test-server.sh');

/**
 * The Java time-skipping test server (scripts/temporal-test-server.sh finds it in the per-user
 * cache, or fetches it from Maven Central once): the SDK's own one is a download this project
 * cannot reach.
 */
export function timeSkippingServerPath(): string {
  const out = execFileSync('bash', [SCRIPT], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return out.trim().split('\n').at(-1)!;
}

/** A time-skipping environment: timers of days fire in milliseconds while a test awaits a result. */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  // The SDK's runtime as the workers use it (log level from MLCYCLE_LOG_LEVEL, default warnings).
  installRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: timeSkippingServerPath() } } });
  // The workflows set mlcycle's search attributes; the test server knows only those it was told of.
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, 2 /* KEYWORD */])),
  }).catch(() => undefined);
  return env;
}

/** The workflows under test plus test/workflows/fixtures (workflows that run one piece alone). */
export function bundleTestWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: path.join(__dirname, '..', 'workflows', 'fixtures', 'test-workflows.ts'), logger: new DefaultLogger('WARN') });
}

/**
 * One time-skipping environment and one workflow bundle for a test file (set up in beforeAll,
 * torn down in afterAll); read them through the getters inside tests.
 */
export function timeSkippingSuite(): { readonly env: TestWorkflowEnvironment; readonly bundle: WorkflowBundleWithSourceMap } {
  let env: TestWorkflowEnvironment | undefined;
  let bundle: WorkflowBundleWithSourceMap | undefined;
  beforeAll(async () => {
    [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleTestWorkflows()]);
  });
  afterAll(async () => {
    await env?.teardown();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('timeSkippingSuite: used outside a test (its beforeAll has not run)');
    return value;
  };
  return {
    get env() {
      return ready(env);
    },
    get bundle() {
      return ready(bundle);
    },
  };
}
