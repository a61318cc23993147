import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalActivities } from '../../activities/approval';
import type { ActivityDeps } from '../../activities/deps';
import { redactSecrets } from '../../src/config/secrets';
import { NotifySection, signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../src/notify/notify-target';

describe('notify section', () => {
  const issues = (v: unknown) => {
    const r = NotifySection.safeParse(v);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('accepts a public URL or a variable name, with an optional signing secret', () => {
    expect(issues({ webhook: 'https://hooks.example.com/mlcycle' })).toEqual([]);
    expect(issues({ webhookEnv: 'SLACK_WEBHOOK_URL', secretEnv: 'MLCYCLE_WEBHOOK_SECRET' })).toEqual([]);
  });

  it('refuses credentials inside the URL, naming the field', () => {
    expect(issues({ webhook: 'https://user:pw@hooks.example.com/x' })[0]).toMatch(/^webhook: must not carry credentials/);
    expect(issues({ webhook: 'https://hooks.example.com/x?token=abc' })[0]).toMatch(/^webhook: must not carry credentials/);
    expect(issues({ webhook: 'https://hooks.example.com/x?api_key=abc' })[0]).toMatch(/webhookEnv/);
  });

  it('needs exactly one destination and valid variable names', () => {
    expect(issues({})).toContain('webhook: set exactly one of webhook or webhookEnv');
    expect(issues({ webhook: 'https://a.example', webhookEnv: 'X' })).toContain('webhook: set exactly one of webhook or webhookEnv');
    expect(issues({ webhookEnv: 'lower-case' })[0]).toMatch(/^webhookEnv: expected an environment variable name/);
  });
});

describe('notify activity', () => {
  let server: http.Server;
  let url: string;
  const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(req.url?.startsWith('/fail') ? 503 : 204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const activities = (env: Record<string, string>) =>
    // notify needs neither storage nor a GPU; the rest of the deps stay unused.
    createApprovalActivities({ env, workDir: '/tmp', queue: 'cpu', gpuDevices: [] } as unknown as ActivityDeps);

  it('reads the secret URL and the signing key from the worker environment and signs the body', async () => {
    const secretUrl = `${url}/hook?token=s3cr3t`;
    const acts = activities({ HOOK_URL: secretUrl, HOOK_SECRET: 'signing-key' });
    await new MockActivityEnvironment().run(acts.notify, { webhookEnv: 'HOOK_URL', secretEnv: 'HOOK_SECRET', id: 'wf/alert', event: 'monitor.drift', payload: { model: 'm' } });
    const got = received.at(-1)!;
    expect(JSON.parse(got.body)).toMatchObject({ id: 'wf/alert', event: 'monitor.drift', payload: { model: 'm' } });
    const ts = String(got.headers[TIMESTAMP_HEADER]);
    expect(got.headers[SIGNATURE_HEADER]).toBe(signBody('signing-key', ts, got.body));
    expect(got.headers['idempotency-key']).toBe('wf/alert');
    // Named by the spec, the two variables hold secrets whatever their names: redacted from then on.
    expect(redactSecrets(`posted to ${secretUrl} with signing-key`, {})).toBe('posted to [redacted HOOK_URL] with [redacted HOOK_SECRET]');
  });

  it('fails without retry when a variable is missing, and never prints a secret URL', async () => {
    const acts = activities({ HOOK_URL: `${url}/fail?token=s3cr3t` });
    await expect(new MockActivityEnvironment().run(acts.notify, { webhookEnv: 'NOPE', id: 'a', event: 'e', payload: {} })).rejects.toMatchObject({
      nonRetryable: true,
      message: expect.stringContaining('NOPE is not set'),
    });
    const err = await new MockActivityEnvironment().run(acts.notify, { webhookEnv: 'HOOK_URL', id: 'a', event: 'e', payload: {} }).catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(/webhook \$HOOK_URL answered 503/);
    expect(String((err as Error).message)).not.toContain('s3cr3t');
  });
});
