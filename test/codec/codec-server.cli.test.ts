import http from 'node:http';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING, METADATA_KEY_ID } from '../../src/codec/aes-gcm-codec';
import { SESSION_COOKIE, createCodecServer, ensureTokenFile, type CodecServer } from '../../src/codec/codec-server';
import { generateKeyringFile, parseKeyring } from '../../src/codec/keyring';
import { freePort } from '../../src/stack/ports';
import { runCliAsync, spawnCli, waitForOutput } from '../helpers/cli';

const UI_ORIGIN = 'http://127.0.0.1:8233';
const TOKEN = 'test-codec-token-0123456789abcdef';
const keyring = parseKeyring(generateKeyringFile(), 'test');

type PayloadJson = { metadata: Record<string, string>; data: string };
const toJson = (p: Payload): PayloadJson => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const fromJson = (p: PayloadJson): Payload => ({
  metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(p.data, 'base64'),
});
const meta = (p: PayloadJson, key: string) => Buffer.from(p.metadata[key] ?? '', 'base64').toString('utf8');

describe('codec server (Temporal remote codec protocol)', () => {
  let server: CodecServer;
  let url: string;

  const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'x-namespace': 'default', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      redirect: 'manual',
    });

  beforeAll(async () => {
    server = createCodecServer({ keyring, token: TOKEN, origins: [UI_ORIGIN], port: 0 });
    ({ url } = await server.start());
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('encodes to AES-GCM ciphertext and decodes back, interoperating with the workers’ codec', async () => {
    const values = [{ spec: { source: 'file:///secret/path.csv' } }, 'plain string', 42];
    const plain = values.map((v) => toJson(defaultPayloadConverter.toPayload(v)));
    const enc = await post('/encode', { payloads: plain });
    expect(enc.status).toBe(200);
    const encoded = ((await enc.json()) as { payloads: PayloadJson[] }).payloads;
    expect(encoded).toHaveLength(3);
    for (const p of encoded) {
      expect(meta(p, 'encoding')).toBe(ENCRYPTED_ENCODING);
      expect(meta(p, METADATA_KEY_ID)).toBe(keyring.activeId);
      expect(Buffer.from(p.data, 'base64').toString('latin1')).not.toContain('secret/path');
    }
    // What the server encrypted, the library decrypts, and the other way round.
    const codec = new AesGcmPayloadCodec(keyring);
    expect((await codec.decode(encoded.map(fromJson))).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(values);
    const byWorker = (await codec.encode(values.map((v) => defaultPayloadConverter.toPayload(v)))).map(toJson);
    const dec = await post('/decode', { payloads: byWorker });
    expect(dec.status).toBe(200);
    const decoded = ((await dec.json()) as { payloads: PayloadJson[] }).payloads;
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(fromJson(p)))).toEqual(values);
    // Payloads that were never encrypted (old histories) come back unchanged.
    const passthrough = await post('/decode', { payloads: plain });
    expect(((await passthrough.json()) as { payloads: PayloadJson[] }).payloads).toEqual(plain);
  });

  it('answers the empty batch and tolerates a trailing slash in the endpoint, as the UI may send', async () => {
    const res = await post('//decode', { payloads: [] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ payloads: [] });
  });

  it('refuses requests without the token or with a wrong one (401)', async () => {
    const payloads = (await new AesGcmPayloadCodec(keyring).encode([defaultPayloadConverter.toPayload('x')])).map(toJson);
    for (const authorization of ['', `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`, TOKEN, 'Bearer ']) {
      const res = await post('/decode', { payloads }, { authorization });
      expect(res.status, `Authorization: "${authorization}"`).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      const body = (await res.json()) as { error: string; payloads?: unknown };
      expect(body.payloads).toBeUndefined();
      expect(body.error).toMatch(/Bearer token or a login session/);
    }
    const noHeader = await fetch(`${url}/encode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) });
    expect(noHeader.status).toBe(401);
    // A cookie with the token itself (instead of the session value) is not a session.
    const fakeCookie = await post('/decode', { payloads }, { authorization: '', cookie: `${SESSION_COOKIE}=${TOKEN}` });
    expect(fakeCookie.status).toBe(401);
  });

  it('CORS: the preflight admits only the configured Web UI origin, with credentials and the codec headers', async () => {
    const preflight = (origin: string) =>
      fetch(`${url}/decode`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
      });
    const ok = await preflight(UI_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const allowed = (ok.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-namespace']));
    expect(ok.headers.get('access-control-allow-methods')).toContain('POST');
    expect(ok.headers.get('vary')).toContain('Origin');

    for (const origin of ['http://127.0.0.1:8234', 'http://localhost:8233', 'https://127.0.0.1:8233', 'http://evil.example', 'null']) {
      const res = await preflight(origin);
      expect(res.status, origin).toBe(403);
      expect(res.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
    // A foreign page is refused even with valid credentials: nothing is decrypted for it.
    const foreign = await post('/decode', { payloads: [] }, { origin: 'http://127.0.0.1:9999' });
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { error: string }).error).toContain('http://127.0.0.1:9999 is not allowed');
    const fromUi = await post('/decode', { payloads: [] }, { origin: UI_ORIGIN });
    expect(fromUi.status).toBe(200);
    expect(fromUi.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
  });

  it('validates the body with zod and names the field (400)', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /payloads: /],
      [{ payloads: 'x' }, /payloads: /],
      [{ payloads: [{ data: 'not base64!' }] }, /payloads\.0\.data: expected base64/],
      [{ payloads: [{ data: 'AA==' }, { metadata: { encoding: 7 } }] }, /payloads\.1\.metadata\.encoding: /],
    ];
    for (const [body, message] of cases) {
      const res = await post('/decode', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const json = (await res.json()) as { error: string; issues: Array<{ path: string }> };
      expect(json.error).toMatch(message);
      expect(json.issues.length).toBeGreaterThan(0);
    }
    const notJson = await post('/decode', '{"payloads": [');
    expect(notJson.status).toBe(400);
  });

  it('reports payloads it cannot decrypt (422) without echoing them', async () => {
    const other = parseKeyring({ active: 'k9', keys: { k9: Buffer.alloc(32, 7).toString('base64') } }, 'other');
    const foreign = (await new AesGcmPayloadCodec(other).encode([defaultPayloadConverter.toPayload('x')])).map(toJson);
    const res = await post('/decode', { payloads: foreign });
    expect(res.status).toBe(422);
    expect(((await res.json()) as { error: string }).error).toMatch(/key "k9"/);
  });

  it('a browser logs in with the token and gets an HttpOnly SameSite=Strict session cookie that authorizes decode', async () => {
    const wrong = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nope', redirect: 'manual' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('set-cookie')).toBeNull();

    const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(TOKEN)}`, redirect: 'manual' });
    expect(login.status).toBe(303);
    const setCookie = login.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=`));
    expect(setCookie).toContain('HttpOnly');
    expect(setCookie).toContain('SameSite=Strict');
    const cookie = setCookie.split(';')[0] as string;
    expect(cookie).not.toContain(TOKEN);

    const payloads = (await new AesGcmPayloadCodec(keyring).encode([defaultPayloadConverter.toPayload({ ok: true })])).map(toJson);
    const res = await post('/decode', { payloads }, { authorization: '', cookie, origin: UI_ORIGIN });
    expect(res.status).toBe(200);
    const [decoded] = ((await res.json()) as { payloads: PayloadJson[] }).payloads;
    expect(defaultPayloadConverter.fromPayload(fromJson(decoded!))).toEqual({ ok: true });

    const status = await fetch(`${url}/`, { headers: { cookie } });
    expect(await status.text()).toContain('<p id="status">authorized</p>');
    const anonymous = await fetch(`${url}/`);
    expect(await anonymous.text()).toContain('<p id="status">not authorized</p>');
    expect(anonymous.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");

    const logout = await fetch(`${url}/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(logout.headers.get('set-cookie')).toMatch(/Max-Age=0/);
    // JSON login, for scripts.
    const json = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: TOKEN }), redirect: 'manual' });
    expect(json.status).toBe(303);
  });

  it('serves /healthz without credentials', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
  });

  it('refuses to be created with a short token', () => {
    expect(() => createCodecServer({ keyring, token: 'short', origins: [] })).toThrow(/at least 16 characters/);
    expect(() => createCodecServer({ keyring, token: TOKEN, origins: ['not a url'] })).toThrow(/not an origin URL/);
  });
});

describe('codec token file', () => {
  it('is created owner-only once and reused', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-token-'));
    try {
      const file = path.join(dir, 'state', 'codec-token');
      const first = await ensureTokenFile(file);
      expect(first.created).toBe(true);
      expect(first.token.length).toBeGreaterThanOrEqual(32);
      expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
      const again = await ensureTokenFile(file);
      expect(again).toEqual({ token: first.token, created: false });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('mlcycle codec-server and mlcycle keys (CLI)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'mlcycle-codec-cli-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });
  const clean = () => ({ MLCYCLE_CODEC_TOKEN: '', MLCYCLE_CODEC_KEYS: '', MLCYCLE_CODEC_KEY_FILE: path.join(dir, 'keys.json'), MLCYCLE_STATE_DIR: path.join(dir, 'state') });

  it('keys init creates a 0600 key file, show lists ids without key material, rotate adds an active key', async () => {
    const init = await runCliAsync(['keys', 'init'], clean());
    expect(init.code, init.stderr).toBe(0);
    const file = path.join(dir, 'keys.json');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const k1 = JSON.parse(await fs.readFile(file, 'utf8')) as { active: string; keys: Record<string, string> };
    const again = await runCliAsync(['keys', 'init'], clean());
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; use `mlcycle keys rotate`/);

    const rotate = await runCliAsync(['keys', 'rotate'], clean());
    expect(rotate.code, rotate.stderr).toBe(0);
    const k2 = JSON.parse(await fs.readFile(file, 'utf8')) as { active: string; keys: Record<string, string> };
    expect(k2.active).not.toBe(k1.active);
    expect(k2.keys[k1.active]).toBe(k1.keys[k1.active]);

    const show = await runCliAsync(['keys', 'show', '--json'], clean());
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toEqual({ source: file, active: k2.active, keys: [k1.active, k2.active] });
    const human = await runCliAsync(['keys', 'show'], clean());
    expect(human.stdout).toContain(`${k2.active}  (active)`);
    for (const material of Object.values(k2.keys)) {
      expect(show.stdout + human.stdout + rotate.stdout + init.stdout).not.toContain(material);
    }
  }, 120_000);

  it('codec-server refuses to start without a token (exit 2, naming the flag and the variable)', async () => {
    const r = await runCliAsync(['codec-server', '--port', '65000'], clean());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('MLCYCLE_CODEC_TOKEN');
    expect(r.stderr).toContain('--token-file');
  }, 60_000);

  it('codec-server serves decode with --token-file and --origin', async () => {
    await runCliAsync(['keys', 'init', '--file', path.join(dir, 'serve-keys.json')], clean());
    const tokenFile = path.join(dir, 'token');
    await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const port = await freePort();
    const child = spawnCli(['codec-server', '--port', String(port), '--token-file', tokenFile, '--origin', 'http://127.0.0.1:4000'], { ...clean(), MLCYCLE_CODEC_KEY_FILE: path.join(dir, 'serve-keys.json') });
    try {
      const out = await waitForOutput(child, /ready/, 60_000);
      expect(out).toContain(`codec server at http://127.0.0.1:${port}`);
      expect(out).toContain('browser origins: http://127.0.0.1:4000');
      expect(out).not.toContain(TOKEN);
      const body = JSON.stringify({ payloads: [toJson(defaultPayloadConverter.toPayload('via cli'))] });
      const enc = await fetch(`http://127.0.0.1:${port}/encode`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body });
      expect(enc.status).toBe(200);
      const denied = await fetch(`http://127.0.0.1:${port}/encode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(denied.status).toBe(401);
      const pre = await fetch(`http://127.0.0.1:${port}/decode`, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:4000', 'access-control-request-method': 'POST' } });
      expect(pre.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:4000');
    } finally {
      child.kill('SIGTERM');
    }
  }, 90_000);

  it('24 unauthenticated 50 MB bodies are refused before they are read: the server stays under 300 MB peak RSS and keeps serving', async () => {
    await runCliAsync(['keys', 'init', '--file', path.join(dir, 'flood-keys.json')], clean());
    const tokenFile = path.join(dir, 'flood-token');
    await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const port = await freePort();
    const child = spawnCli(['codec-server', '--port', String(port), '--token-file', tokenFile], { ...clean(), MLCYCLE_CODEC_KEY_FILE: path.join(dir, 'flood-keys.json') });
    // VmHWM: the peak resident set of the process that runs the server (the CLI runs it in-process).
    const peakMiB = async () => Number(/VmHWM:\s+(\d+) kB/.exec(await fs.readFile(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024;
    try {
      await waitForOutput(child, /ready/, 60_000);
      const before = await peakMiB();
      const body = Buffer.alloc(50 * 1024 * 1024, 0x61);
      const send = () =>
        new Promise<number>((resolve) => {
          const req = http.request({ host: '127.0.0.1', port, path: '/decode', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          // The server answers 401 and closes while the body is still being sent.
          req.on('error', () => resolve(-1));
          req.end(body);
        });
      const codes = await Promise.all(Array.from({ length: 24 }, send));
      expect(codes.filter((c) => c !== 401 && c !== -1)).toEqual([]);
      expect(codes).toContain(401);
      const peak = await peakMiB();
      // Before the fix the bodies were parsed before the token was checked: 140 MB → 1.2 GB.
      console.log(`codec server flood: peak RSS ${peak.toFixed(0)} MiB (before the flood ${before.toFixed(0)} MiB)`);
      expect(peak, `peak RSS ${peak.toFixed(0)} MiB (before the flood ${before.toFixed(0)} MiB)`).toBeLessThan(300);
      const ok = await fetch(`http://127.0.0.1:${port}/encode`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ payloads: [toJson(defaultPayloadConverter.toPayload('after'))] }) });
      expect(ok.status).toBe(200);
      // An authorized body above the cap is refused too (413), not buffered.
      // The declared length alone is refused: the server answers before the body is sent, so the
      // request only starts it (sending all 17 MiB races the server's close: EPIPE).
      const bigStatus = await new Promise<number>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/decode', method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'content-length': String(17 * 1024 * 1024) } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(-1));
        req.write(Buffer.alloc(64 * 1024, 0x20));
      });
      expect(bigStatus).toBe(413);
    } finally {
      child.kill('SIGTERM');
    }
  }, 120_000);
});
