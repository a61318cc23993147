import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/stack/ports';
import { childPids, isAlive, spawnCli, waitForOutput } from '../helpers/cli';

/** Env of a user with nothing configured: `mlcycle dev` must start its own services. */
const bare = { TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };

describe('mlcycle dev', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-dev-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('brings up Temporal + Web UI + MinIO + workers, answers, and leaves no process after SIGTERM', async () => {
    const [tp, up, mp, mcp] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const child = spawnCli(
      ['dev', '--temporal-port', String(tp), '--ui-port', String(up), '--minio-port', String(mp), '--minio-console-port', String(mcp), '--state-dir', path.join(dir, 'state')],
      bare,
    );
    try {
      const out = await waitForOutput(child, /ready/, 180_000);
      expect(out).toContain(`Web UI:     http://127.0.0.1:${up}`);
      expect(out).toMatch(/Workers:\s+cpu, gpu \(\d+ GPU\)/);
      const ui = await fetch(`http://127.0.0.1:${up}/`);
      expect(ui.status).toBe(200);
      const minio = await fetch(`http://127.0.0.1:${mp}/minio/health/live`);
      expect(minio.status).toBe(200);
      // The console, with its sign-in token in the state folder (0600).
      const consoleUrl = /Console:\s+(http:\/\/127\.0\.0\.1:\d+) \(sign in with the token in (.*console-token)\)/.exec(out);
      expect(consoleUrl, out).not.toBeNull();
      expect((await fetch(`${consoleUrl![1]}/sign-in`)).status).toBe(200);
      expect((await fs.stat(consoleUrl![2]!)).mode & 0o777).toBe(0o600);
      // The SQLite file is persistent state under the project-local folder.
      await expect(fs.stat(path.join(dir, 'state', 'temporal.db'))).resolves.toBeTruthy();

      const services = childPids(child.pid as number, /(temporal|minio)[^/\s]*\s+server/);
      expect(services).toHaveLength(2);
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await new Promise((r) => setTimeout(r, 200));
      expect(services.filter(isAlive)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 240_000);

  it('names the service and port when a port is taken, exits non-zero and leaves nothing running', async () => {
    const blocker = net.createServer();
    const busy = await freePort();
    await new Promise<void>((r) => blocker.listen(busy, '127.0.0.1', r));
    try {
      const [tp, up, mcp] = [await freePort(), await freePort(), await freePort()];
      const child = spawnCli(
        ['dev', '--no-workers', '--temporal-port', String(tp), '--ui-port', String(up), '--minio-port', String(busy), '--minio-console-port', String(mcp), '--state-dir', path.join(dir, 'busy')],
        bare,
      );
      let stderr = '';
      child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((r) => child.once('exit', r));
      expect(code).not.toBe(0);
      expect(stderr).toContain(`MinIO: port ${busy} on 127.0.0.1 is already in use`);
      // Temporal started first and must have been stopped again.
      const probe = net.connect({ host: '127.0.0.1', port: tp });
      const connected = await new Promise<boolean>((r) => {
        probe.once('connect', () => r(true));
        probe.once('error', () => r(false));
      });
      probe.destroy();
      expect(connected).toBe(false);
    } finally {
      blocker.close();
    }
  }, 180_000);

  it('supervises its services: a killed MinIO is reported and the whole stack exits non-zero', async () => {
    const [tp, up, mp, mcp] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const child = spawnCli(
      ['dev', '--no-workers', '--no-ui', '--temporal-port', String(tp), '--ui-port', String(up), '--minio-port', String(mp), '--minio-console-port', String(mcp), '--state-dir', path.join(dir, 'supervised')],
      bare,
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      await waitForOutput(child, /ready/, 180_000);
      const [temporal] = childPids(child.pid as number, /temporal[^/\s]*\s+server/);
      const [minio] = childPids(child.pid as number, /minio[^/\s]*\s+server/);
      expect(temporal).toBeDefined();
      expect(minio).toBeDefined();
      const exited = new Promise<number | null>((r) => child.once('exit', r));
      process.kill(minio!, 'SIGKILL');
      const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000))]);
      expect(code).toBe(1);
      expect(stderr).toMatch(/MinIO \(pid \d+\) exited unexpectedly with status \d+; stopping mlcycle dev/);
      expect(stderr).toMatch(/mlcycle dev stopped: MinIO died/);
      await new Promise((r) => setTimeout(r, 200));
      expect(isAlive(temporal!)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 240_000);
});
