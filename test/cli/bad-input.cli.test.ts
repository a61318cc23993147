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

  it('rejects a non-numeric console port with exit 2 naming the flag', () => {
    const r = runCli(['dev', '--console-port', 'eighty']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--console-port <port>.*expected a port number/);
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

  it('refuses bad values of the newer commands with exit 2 naming the flag or field, before connecting anywhere', () => {
    // Nothing listens on port 1: a command that got past its input checks would fail with exit 1.
    const offline = { TEMPORAL_ADDRESS: '127.0.0.1:1', MLCYCLE_S3_ENDPOINT: 'http://127.0.0.1:1' };
    const cases: Array<[string[], RegExp]> = [
      [['policy', 'set', 'm', '--protect', 'production', '--approvers', 'alice', '--required', '0'], /--required: expected a whole number >= 1/],
      [['policy', 'set', 'm', '--protect', 'production', '--approvers', 'alice,bob', '--required', '3'], /required: cannot exceed the number of approvers/],
      [['policy', 'set', 'm', '--default', '--protect', 'production', '--approvers', 'alice', '--required', '1'], /name a model or pass --default \(not both\)/],
      [['approvers', 'add', 'alice', 'notakey'], /public key:[\s\S]*expected an Ed25519 public key/],
      [['approvers', 'keygen', 'bad name'], /approver name "bad name"/],
      [['cluster', 'init', '--retention', 'forever'], /--retention <days>.*expected a retention in whole days/],
      [['serve', '--model', 'm', '--out-of-range', 'sometimes'], /--out-of-range <rule>.*Allowed choices are refuse, clip, allow/],
      [['serve', '--model', 'm', '--token-file', '/no/such/file'], /--token-file: cannot read \/no\/such\/file/],
      [['worker', '--queue', 'cpu', '--shutdown-grace', 'soon'], /--shutdown-grace <duration>.*expected a duration/],
      [['worker', '--queue', 'cpu', '--allow-command', ''], /--allow-command/],
      [['schema', 'infer', 'data.csv', '--format', 'xml'], /--format <format>.*Allowed choices are csv, parquet, jsonl/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(args, offline);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it('reports an unreachable Temporal server by name and address', () => {
    const r = runCli(['status', 'x'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Temporal server not reachable at 127.0.0.1:1');
  });
});
