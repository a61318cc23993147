import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.join(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

// What a user of the package writes: named imports from 'mlcycle', typed by the packed .d.ts.
const CONSUMER = `
import { MlcycleClient, MlcycleError, PipelineSpecSchema, RunStatusSchema, isMlcycleError, type PipelineSpecInput, type RunStatus } from 'mlcycle';

const input: PipelineSpecInput = {
  apiVersion: 'mlcycle/v1',
  name: 'churn',
  data: { source: 'file://churn.csv', target: 'churned', schema: 'infer' },
  train: { trainer: 'logistic-regression' },
};
const spec = PipelineSpecSchema.parse(input);
const status: RunStatus = RunStatusSchema.parse({ workflowId: 'w', status: 'completed', stage: 'done', steps: [] });
// @ts-expect-error the spec types are the schemas' types, not any
const wrong: PipelineSpecInput = { apiVersion: 'mlcycle/v2' };
void wrong;

async function main(): Promise<void> {
  let code: string | undefined;
  try {
    // Nothing listens on port 1: the client reports it by name instead of hanging.
    const client = await MlcycleClient.connect({ address: '127.0.0.1:1', namespace: 'default' });
    await client.close();
  } catch (err) {
    if (isMlcycleError(err) && err instanceof MlcycleError) code = err.code;
    else throw err;
  }
  console.log(JSON.stringify({ trainer: spec.train.trainer, cache: spec.cache, status: status.status, connect: code, fromEnv: typeof MlcycleClient.fromEnv }));
}
void main();
`;

/**
 * `npm pack`, then the tarball installed into a scratch project and used by name from TypeScript.
 * The tarball is unpacked into the project's node_modules as npm would; its dependencies are the
 * repository's installed ones (a symlink), since resolving them again would need the registry.
 */
describe('the packed package', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-packed-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('installs from its tarball and is imported as `mlcycle` from a TypeScript project', () => {
    const built = path.join(ROOT, 'dist', 'src', 'index.js');
    if (!fs.existsSync(built)) throw new Error(`${built} is missing: run npm run build (npm install does, through prepare)`);
    if (fs.statSync(built).mtimeMs < fs.statSync(path.join(ROOT, 'src', 'index.ts')).mtimeMs) throw new Error('dist/ is older than src/index.ts: run npm run build');

    // The build already ran (prepare); packing must not run it again.
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' })) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = path.join(dir, packed[0]!.filename);
    const files = packed[0]!.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['package.json', 'bin/mlcycle.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'dist/workflow-bundle.js']));
    // Only what the package runs: no sources, tests or benches.
    expect(files.filter((f) => /^(src|test|bench|workflows|activities)\//.test(f))).toEqual([]);

    const project = path.join(dir, 'consumer');
    const installed = path.join(project, 'node_modules', 'mlcycle');
    fs.mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(installed, 'node_modules'));
    fs.mkdirSync(path.join(project, 'node_modules', '@types'));
    fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(project, 'node_modules', '@types', 'node'));
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, dependencies: { mlcycle: `file:${tarball}` } }));
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', moduleResolution: 'nodenext', strict: true, skipLibCheck: true, outDir: 'out', types: ['node'] }, include: ['main.ts'] }));
    fs.writeFileSync(path.join(project, 'main.ts'), CONSUMER);

    const compiled = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
    const out = execFileSync(process.execPath, ['out/main.js'], { cwd: project, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
    expect(JSON.parse(out.trim().split('\n').at(-1)!)).toEqual({ trainer: 'logistic-regression', cache: true, status: 'completed', connect: 'SERVICE_UNREACHABLE', fromEnv: 'function' });
  });
});
