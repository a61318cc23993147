import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli';

describe('CLI bad input', () => {
  it('rejects an unknown queue with exit 2 naming the flag', () => {
    const r = runCli(['worker', '--queue', 'tpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '--queue <queue>' argument 'tpu' is invalid");
    expect(r.stderr).toContain('expected cpu or gpu');
  });

  it('rejects a non-numeric port with exit 2', () => {
    const r = runCli(['dev', '--temporal-port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--temporal-port <port>.*expected a port number/);
  });

  it('rejects a malformed TEMPORAL_ADDRESS with exit 2 naming the variable', () => {
    const r = runCli(['status', 'x'], { TEMPORAL_ADDRESS: 'not an address' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TEMPORAL_ADDRESS: expected host:port');
  });

  it('rejects an invalid spec with exit 2 listing every bad field, before connecting anywhere', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-badspec-'));
    const spec = path.join(dir, 'bad.yaml');
    await fs.writeFile(spec, 'apiVersion: mlcycle/v2\nname: Bad Name\ndata: { source: ftp://x, target: y, schema: {} }\ntrain: { trainer: svm }\n');
    // An unreachable server proves the spec is checked first.
    const r = runCli(['run', spec], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    await fs.rm(dir, { recursive: true, force: true });
    expect(r.code).toBe(2);
    for (const field of ['apiVersion', 'name', 'data.source', 'data.target', 'train.trainer']) expect(r.stderr).toContain(`${field}:`);
  });

  it('reports an unreachable Temporal server by name and address', () => {
    const r = runCli(['status', 'x'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Temporal server not reachable at 127.0.0.1:1');
  });
});
