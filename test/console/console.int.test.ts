/**
 * The console against the real stack (the suite's Temporal dev server and MinIO, real workers),
 * driven through Debian's headless Chromium with playwright-core, as test/codec/web-ui.int.test.ts
 * does: sign-in, the model and version pages, lineage, the evaluation report, and an approval
 * signed in the browser (a wrong key refused on the page, the right one completing the run and
 * showing as verified in the audit log). Screenshots go to test-results/console/.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApproverKey } from '../../src/approval/approver-keys';
import { waitForRun } from '../../src/client/wait-for-run';
import { generateToken } from '../../src/codec/codec-server';
import { createConsoleData } from '../../src/console/console-data';
import { createConsoleServer, type ConsoleServer } from '../../src/console/server';
import { createTrustRecords } from '../../src/registry/trust-records';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';
import { until } from '../helpers/until';
import { runCliAsync, spawnCli, waitForOutput } from '../helpers/cli';
import { freePort } from '../../src/stack/ports';
import { describeMonitor, scheduleIdFor, startMonitor } from '../../src/client/monitor-schedules';
import { loadPipelineSpec } from '../../src/spec/pipeline-spec';

const CHROMIUM = process.env.MLCYCLE_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = path.join(__dirname, '..', '..', 'test-results', 'console');

declare const document: { body: { innerText: string } };
interface IdbRequest<T> {
  result: T;
  error: unknown;
  onsuccess: () => void;
  onerror: () => void;
}
interface KeptKey {
  type: string;
  extractable: boolean;
  algorithm: { name: string };
  usages: string[];
}
declare const indexedDB: {
  open(name: string, version: number): IdbRequest<{ transaction(store: string, mode: string): { objectStore(name: string): { get(key: string): IdbRequest<KeptKey | undefined> } } }>;
};

const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser && process.env.MLCYCLE_REQUIRE_BROWSER === '1') {
  throw new Error(`MLCYCLE_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM} (apt-get install chromium, or set MLCYCLE_CHROMIUM)`);
}

describe.skipIf(!haveBrowser)('the mlcycle console in headless Chromium against the real stack', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let dir: string;
  let server: ConsoleServer;
  let url: string;
  let browser: BrowserContext;
  let page: Page;
  const token = generateToken();
  const model = `console-${randomUUID().slice(0, 6)}`;
  let aliceKey: string;
  let wrongKey: string;
  let firstRun: string;
  let gatedRun: string;

  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const text = () => page.evaluate(() => document.body.innerText);

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 1000 });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mlcycle-console-'));
    // alice's key file, as `mlcycle approvers keygen alice --out …` writes it, registered by an administrator.
    aliceKey = path.join(dir, 'alice.key');
    const { publicKey } = await generateApproverKey(aliceKey);
    await createTrustRecords({ store: env.store }).addApprover('alice', publicKey, 'test-admin');
    // Another valid Ed25519 key file that is not alice's.
    wrongKey = path.join(dir, 'not-alice.key');
    await generateApproverKey(wrongKey);

    const first = await ws.spec('v1.yaml', (d) => {
      d.name = model;
      d.train.params = { learningRate: 0.1, epochs: 20 };
      d.deploy = { alias: 'production', strategy: 'direct' };
    });
    ({ workflowId: firstRun } = await env.client.startPipeline(first, { cache: false }));
    expect((await waitForRun(env.client, firstRun)).status).toBe('completed');
    const second = await ws.spec('v2.yaml', (d) => {
      d.name = model;
      d.train.params = { learningRate: 0.2, epochs: 30 };
      delete d.evaluate.compareToChampion;
      d.approval = { approvers: ['alice'], required: 1, timeout: '1h' };
      d.deploy = { alias: 'production', strategy: 'direct' };
    });
    ({ workflowId: gatedRun } = await env.client.startPipeline(second, { cache: false }));
    await until('the gate', async () => (await env.client.status(gatedRun)).status === 'awaiting_approval', 300_000);

    const data = createConsoleData({ client: env.client, store: env.store, bucket: env.s3.bucket, prefix: env.s3.prefix });
    server = createConsoleServer({ data, token, port: 0 });
    ({ url } = await server.start());

    await fsp.mkdir(SCREENSHOTS, { recursive: true });
    browser = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1400, height: 1000 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await env?.client.temporal.schedule.getHandle(scheduleIdFor(model)).delete().catch(() => undefined);
    await env?.close();
    await ws?.remove();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  }, 120_000);

  it('without a token shows only the sign-in page; HTTP clients get redirects or 401/403', async () => {
    for (const p of ['/models', `/models/${model}`, '/approvals', '/runs', '/monitors', `/models/${model}/versions/1`]) {
      await page.goto(`${url}${p}`);
      expect(new URL(page.url()).pathname).toBe('/sign-in');
      const body = await text();
      expect(body).toContain('Sign in to the mlcycle console');
      expect(body).not.toContain(model);
    }
    await shot('sign-in');
    const plain = await fetch(`${url}/models/${model}`, { redirect: 'manual' });
    expect(plain.status).toBe(303);
    expect(plain.headers.get('location')).toMatch(/^\/sign-in\?next=/);
    expect(await plain.text()).not.toContain(model);
    const api = await fetch(`${url}/api/approvals/${gatedRun}/decide`, { method: 'POST', headers: { origin: url, 'content-type': 'application/json' }, body: '{}' });
    expect(api.status).toBe(401);
    // CSP: scripts only from the console itself, never inline.
    const csp = plain.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');

    await page.goto(`${url}/sign-in`);
    await page.fill('#token', 'not-the-console-token-000000');
    await page.click('#sign-in');
    expect(await page.innerText('#signin-error')).toBe('Wrong token.');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
  }, 120_000);

  it('signs in; the models list shows the model with its production holder', async () => {
    await page.goto(`${url}/sign-in?next=/models`);
    await page.fill('#token', token);
    await page.click('#sign-in');
    await page.waitForURL(`${url}/models`);
    const cookie = (await browser.cookies(url)).find((c) => c.name === 'mlcycle_console_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(cookie?.value).not.toContain(token);
    const row = page.locator(`tr[data-model="${model}"]`);
    await expect.poll(() => row.innerText()).toContain('v2');
    expect(await row.locator('td.production').innerText()).toBe('v1');
    expect(await row.locator('td.awaiting').innerText()).toBe('v2 awaiting approval');
    await shot('models');

    // A write without the session's CSRF token is refused even with the cookie.
    const noCsrf = await fetch(`${url}/api/approvals/${gatedRun}/decide`, { method: 'POST', headers: { origin: url, cookie: `mlcycle_console_session=${cookie?.value}`, 'content-type': 'application/json' }, body: '{}' });
    expect(noCsrf.status).toBe(403);
    const crossSite = await fetch(`${url}/monitors/${model}/pause`, { method: 'POST', headers: { origin: 'http://evil.example', cookie: `mlcycle_console_session=${cookie?.value}`, 'content-type': 'application/x-www-form-urlencoded' }, body: '_csrf=x' });
    expect(crossSite.status).toBe(403);
  }, 60_000);

  it('model page: both versions with their metrics, the comparison chart, the alias history', async () => {
    await page.click(`tr[data-model="${model}"] a >> nth=0`);
    await page.waitForURL(`${url}/models/${model}`);
    const rows = page.locator('#versions tbody tr[data-version]');
    expect(await rows.count()).toBe(2);
    for (const v of ['1', '2']) {
      const auc = await page.locator(`#versions tr[data-version="${v}"] td.metric[data-metric="auc"]`).innerText();
      expect(Number(auc)).toBeGreaterThan(0.5);
      expect(Number(auc)).toBeLessThanOrEqual(1);
      expect(await page.locator(`#versions tr[data-version="${v}"]`).innerText()).toContain('logistic-regression');
    }
    expect(await page.locator('svg.metric-chart[data-metric="auc"] rect.bar').count()).toBe(2);
    expect(await page.locator('#alias-history tr[data-action="alias.set"]').count()).toBeGreaterThanOrEqual(1);
    await shot('model');
  }, 60_000);

  it('version page: the lineage graph has the expected nodes and the evaluation report renders sandboxed', async () => {
    await page.goto(`${url}/models/${model}/versions/1`);
    const kinds = await page.locator('svg.lineage g.node').evaluateAll((nodes) => nodes.map((n) => (n as unknown as { getAttribute(a: string): string }).getAttribute('data-kind')));
    for (const k of ['source', 'dataset', 'validation', 'training-run', 'model-version', 'deployment']) expect(kinds, `lineage nodes ${kinds.join(', ')}`).toContain(k);
    expect(await page.locator(`svg.lineage g.node[data-id="run:${firstRun}"]`).count()).toBe(1);
    const frame = page.locator('#report-evaluation iframe');
    expect(await frame.getAttribute('sandbox')).toBe('');
    const report = page.frameLocator('#report-evaluation iframe');
    await expect.poll(() => report.locator('body').innerText(), { timeout: 30_000 }).toMatch(/auc/i);
    await page.locator('#report-evaluation').scrollIntoViewIfNeeded();
    await shot('version-lineage');
    // The report is served under its own sandboxing CSP, and only artifacts of this store are.
    const src = (await frame.getAttribute('src')) ?? '';
    const cookie = (await browser.cookies(url)).find((c) => c.name === 'mlcycle_console_session');
    const res = await fetch(`${url}${src}`, { headers: { cookie: `mlcycle_console_session=${cookie?.value}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/^sandbox;/);
    const other = await fetch(`${url}/artifact?uri=${encodeURIComponent('s3://elsewhere/secret.txt')}`, { headers: { cookie: `mlcycle_console_session=${cookie?.value}` } });
    expect(other.status).toBe(404);
  }, 60_000);

  it('approvals inbox: a wrong key is refused on the page; alice\'s key file approves, the run completes, the audit log says verified', async () => {
    await page.goto(`${url}/approvals`);
    const card = page.locator(`article.gate[data-workflow-id="${gatedRun}"]`);
    await card.waitFor();
    expect(await card.locator('table.champion').innerText()).toContain('production v1');
    const form = card.locator('form.decision');
    await form.locator('select[name="approver"]').selectOption('alice');
    await form.locator('input[name="keyfile"]').setInputFiles(wrongKey);
    await form.locator('button.approve').click();
    const result = form.locator('.decision-result');
    await expect.poll(() => result.innerText(), { timeout: 30_000 }).toMatch(/^Refused: .*bad signature/);
    await shot('approval-wrong-key');
    expect((await env.client.status(gatedRun)).status).toBe('awaiting_approval');

    await form.locator('input[name="keyfile"]').setInputFiles(aliceKey);
    await form.locator('input[name="remember"]').check();
    await form.locator('textarea[name="text"]').fill('signed in the browser');
    await form.locator('button.approve').click();
    await expect.poll(() => result.innerText(), { timeout: 30_000 }).toMatch(/^Approved as alice: 1\/1 approvals, gate Approved/);
    await shot('approval-approved');
    // "Keep in this browser": the imported key sits in IndexedDB as a non-extractable CryptoKey.
    const kept = await page.evaluate(
      () =>
        new Promise<unknown>((resolve, reject) => {
          const open = indexedDB.open('mlcycle-console', 1);
          open.onerror = () => reject(new Error(`indexedDB.open failed: ${String(open.error)}`));
          open.onsuccess = () => {
            const get = open.result.transaction('approver-keys', 'readonly').objectStore('approver-keys').get('alice');
            get.onsuccess = () => resolve(get.result ? { type: get.result.type, extractable: get.result.extractable, algorithm: get.result.algorithm.name, usages: get.result.usages } : null);
            get.onerror = () => reject(new Error(`IndexedDB read failed: ${String(get.error)}`));
          };
        }),
    );
    expect(kept).toEqual({ type: 'private', extractable: false, algorithm: 'Ed25519', usages: ['sign'] });
    const done = await waitForRun(env.client, gatedRun);
    expect(done.status).toBe('completed');

    await page.goto(`${url}/models/${model}`);
    const entry = page.locator('#audit-log tr.audit-entry[data-action="approve"][data-actor="alice"]');
    expect(await entry.count()).toBe(1);
    expect(await entry.locator('.sig-verified').innerText()).toBe('verified');
    expect(await entry.innerText()).toContain('signed in the browser');
    expect(await page.locator('#versions tr[data-version="2"]').innerText()).toContain('production');
    await page.locator('#audit').scrollIntoViewIfNeeded();
    await shot('model-audit-verified');
    // v1's lineage now ends in the version that replaced it.
    await page.goto(`${url}/models/${model}/versions/1`);
    expect(await page.locator('svg.lineage g.node[data-kind="replaced-by"]').textContent()).toContain('replaced by v2');
  }, 300_000);

  it('monitors: pause, resume and trigger from the page; the check appears on the verdict timeline and in the lineage', async () => {
    const spec = await ws.spec('monitor.yaml', (d) => {
      d.name = model;
      d.monitor = { every: '1h', window: '24h', source: `file://${ws.dir}/data/churn.csv`, drift: { method: 'psi', threshold: 0.2, minSamples: 50 }, retrain: { onDrift: false, cooldown: '1h' } };
    });
    const loaded = await loadPipelineSpec(spec);
    await startMonitor(env.client.temporal, loaded, env.client.pipelineInput(loaded));
    await page.goto(`${url}/monitors`);
    expect(await page.locator('#monitors').innerText()).toContain(model);
    await page.goto(`${url}/monitors/${model}`);
    expect(await page.locator('#monitor-state').innerText()).toBe('active');
    await page.click('#monitor-pause');
    await page.waitForURL(/done=pause/);
    expect(await page.locator('#monitor-state').innerText()).toBe('paused');
    expect((await describeMonitor(env.client.temporal, model)).paused).toBe(true);
    await page.click('#monitor-resume');
    await page.waitForURL(/done=resume/);
    expect(await page.locator('#monitor-state').innerText()).toBe('active');
    await page.click('#monitor-trigger');
    await page.waitForURL(/done=trigger/);
    expect(await page.locator('#monitor-message').innerText()).toContain('Check triggered');
    await expect
      .poll(
        async () => {
          await page.goto(`${url}/monitors/${model}`);
          return page.locator('#verdicts li').first().innerText().catch(() => '');
        },
        { timeout: 120_000, interval: 2000 },
      )
      .toMatch(/no drift|drift|insufficient data/);
    expect(await page.locator('svg.timeline circle').count()).toBeGreaterThan(0);
    await shot('monitor');
    // A check is a run of its own: its page shows the decoded result and the drift report.
    await page.locator('#verdicts li a').first().click();
    await page.waitForURL(/\/runs\//);
    expect(await page.locator('#run-status').innerText()).toBe('completed');
    expect(await page.locator('#run-result').innerText()).toContain('"verdict"');
    expect(await page.locator('iframe.report-frame').count()).toBe(1);
    await page.goto(`${url}/models/${model}/versions/2`);
    await expect.poll(async () => page.locator('svg.lineage g.node[data-kind="monitor-check"]').count(), { timeout: 30_000 }).toBeGreaterThan(0);
  }, 240_000);

  it('runs, a run\'s step table, and the monitors page render', async () => {
    await page.goto(`${url}/runs`);
    expect(await text()).toContain(firstRun);
    await page.goto(`${url}/runs/${firstRun}`);
    expect(await page.locator('#run-status').innerText()).toBe('completed');
    expect(await page.locator('#steps tr[data-step="train"]').innerText()).toContain('completed');
    await shot('run');
    // Sign out: back to the sign-in page only.
    await page.goto(`${url}/models`);
    await page.click('form.signout button');
    await page.waitForURL(/\/sign-in/);
    await page.goto(`${url}/approvals`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
  }, 60_000);
});

describe('mlcycle ui (the CLI command)', () => {
  let env: TestEnv;
  let dir: string;
  beforeAll(async () => {
    env = await startTestEnv({ workers: false });
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mlcycle-ui-cli-'));
  });
  afterAll(async () => {
    await env?.close();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  });

  it('serves the console on --host/--port with the --token-file token, and refuses a short token', async () => {
    const short = path.join(dir, 'short-token');
    await fsp.writeFile(short, 'short\n');
    const bad = await runCliAsync(['ui', '--port', String(await freePort()), '--token-file', short], env.cliEnv);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/at least 16 characters/);
    expect((await runCliAsync(['ui', '--port', 'eighty'], env.cliEnv)).code).toBe(2);

    const tokenFile = path.join(dir, 'token');
    const token = generateToken();
    await fsp.writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const port = await freePort();
    const ui = spawnCli(['ui', '--port', String(port), '--host', '127.0.0.1', '--token-file', tokenFile], env.cliEnv);
    try {
      const out = await waitForOutput(ui, /ready/, 120_000);
      expect(out).toContain(`Console:    http://127.0.0.1:${port}`);
      const signIn = await fetch(`http://127.0.0.1:${port}/sign-in`, { method: 'POST', redirect: 'manual', headers: { origin: `http://127.0.0.1:${port}`, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
      expect(signIn.status).toBe(303);
      const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      expect(signIn.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
      const models = await fetch(`http://127.0.0.1:${port}/models`, { headers: { cookie } });
      expect(models.status).toBe(200);
      expect(await models.text()).toContain('<h1>Models</h1>');
    } finally {
      ui.kill('SIGTERM');
      await new Promise((r) => ui.once('exit', r));
    }
  }, 180_000);
});
