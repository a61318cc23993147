import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelRegistry } from '../../src/registry/model-registry';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';

const ROOT = path.join(__dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'client-api', 'train-and-promote.ts');

/** The example as a user runs it: its own process, configured by the environment only. */
function runExample(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // From the repository root, where tsconfig.json maps the package name to the sources.
    const child = spawn(process.execPath, ['--import', 'tsx', EXAMPLE, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/client-api against the real stack', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create();
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
  });

  it('trains through the client API, reads the registry and moves an alias', async () => {
    const spec = await ws.spec('client-api.yaml', (d) => {
      d.name = 'client-api';
    });
    const r = await runExample([spec, 'staging'], env.cliEnv);
    expect(r.stderr).toContain('started client-api-train-');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(out).toMatchObject({ status: 'completed', model: 'client-api', version: 1, moved: true, aliases: { staging: 1 } });
    expect(Object.keys(out.metrics as object)).toEqual(expect.arrayContaining(['auc']));

    // The registry, read independently of the example, agrees.
    const registry = createModelRegistry({ store: env.store });
    expect(await registry.getAliases('client-api')).toEqual({ staging: 1 });
    expect((await registry.audit('client-api')).at(-1)).toMatchObject({ action: expect.any(String), alias: 'staging', to: 1 });
  });

  it('exits non-zero naming the problem for a spec that does not validate', async () => {
    const bad = await ws.writeFile('bad.yaml', 'apiVersion: mlcycle/v1\nname: Bad Name\n');
    const r = await runExample([bad], env.cliEnv);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/name/);
  });
});
