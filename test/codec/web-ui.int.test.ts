import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlcycleClient } from '../../src/client/mlcycle-client';
import { waitForRun } from '../../src/client/wait-for-run';
import { loadKeyring } from '../../src/codec/keyring';
import { parseEnv } from '../../src/config/env';
import { freePort } from '../../src/stack/ports';
import { spawnCli, waitForOutput } from '../helpers/cli';
import { SpecWorkspace } from '../helpers/specs';

/** Debian's chromium package: no browser download; MLCYCLE_CHROMIUM points elsewhere. */
const CHROMIUM = process.env.MLCYCLE_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOTS = path.join(__dirname, '..', '..', 'test-results', 'web-ui');

/** A user with nothing configured: `mlcycle dev` runs its own services and makes its own keys and token. */
const bare = {
  TEMPORAL_ADDRESS: '',
  MLCYCLE_S3_ENDPOINT: '',
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  MLCYCLE_S3_PREFIX: '',
  MLCYCLE_QUEUE_PREFIX: '',
  MLCYCLE_CODEC_KEYS: '',
  MLCYCLE_CODEC_KEY_FILE: '',
  MLCYCLE_CODEC_TOKEN: '',
};

// The browser-side globals page.evaluate callbacks use; the project compiles without the DOM lib.
declare const document: { body: { innerText: string } };
declare const localStorage: { getItem(key: string): string | null };

const bodyText = (page: Page) => page.evaluate(() => document.body.innerText);

// A developer without Chromium gets a skip; CI (MLCYCLE_REQUIRE_BROWSER=1, set by .ci/run after it
// installs the package) gets a failure instead, so the browser check can never silently vanish.
const haveBrowser = fs.existsSync(CHROMIUM);
if (!haveBrowser && process.env.MLCYCLE_REQUIRE_BROWSER === '1') {
  throw new Error(`MLCYCLE_REQUIRE_BROWSER=1 but no Chromium at ${CHROMIUM} (apt-get install chromium, or set MLCYCLE_CHROMIUM)`);
}
describe.skipIf(!haveBrowser)('the dev Web UI decodes through the codec server, for an authorized browser only (headless Chromium)', () => {
  let dir: string;
  let dev: ChildProcess;
  let uiUrl: string;
  let codecUrl: string;
  let ws: SpecWorkspace;
  let browser: BrowserContext;
  const model = `webui-${randomUUID().slice(0, 6)}`;
  let workflowId: string;

  beforeAll(async () => {
    dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'mlcycle-webui-'));
    const [tp, up, mp, mcp, cp] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    const state = path.join(dir, 'state');
    dev = spawnCli(
      ['dev', '--temporal-port', String(tp), '--ui-port', String(up), '--minio-port', String(mp), '--minio-console-port', String(mcp), '--codec-port', String(cp), '--state-dir', state, '--data-root', os.tmpdir()],
      bare,
    );
    const out = await waitForOutput(dev, /mlcycle dev ready/, 300_000);
    uiUrl = `http://127.0.0.1:${up}`;
    codecUrl = `http://127.0.0.1:${cp}`;
    expect(out).toContain(`Codec:      ${codecUrl}`);
    expect(out).toContain(`origins ${uiUrl}`);
    // The Web UI was started knowing its codec endpoint.
    const settings = (await (await fetch(`${uiUrl}/api/v1/settings`)).json()) as { Codec: { Endpoint: string } };
    expect(settings.Codec.Endpoint).toBe(codecUrl);

    ws = await SpecWorkspace.create({ rows: 600 });
    const keyring = loadKeyring(parseEnv({ MLCYCLE_CODEC_KEY_FILE: path.join(state, 'codec-keys.json') }));
    const client = await MlcycleClient.connect({ address: `127.0.0.1:${tp}`, namespace: 'default', keyring });
    try {
      const spec = await ws.spec('webui.yaml', (d) => {
        d.name = model;
        d.train.params = { learningRate: 0.0613, epochs: 4 };
      });
      // A second model, so the search-attribute filter has something to filter out.
      const other = await ws.spec('other.yaml', (d) => {
        d.name = `${model}-other`;
        d.train.params = { learningRate: 0.2, epochs: 2 };
      });
      ({ workflowId } = await client.startPipeline(spec));
      const { workflowId: otherId } = await client.startPipeline(other);
      expect((await waitForRun(client, workflowId)).status).toBe('completed');
      await waitForRun(client, otherId);
    } finally {
      await client.close();
    }

    await fsp.mkdir(SCREENSHOTS, { recursive: true });
    browser = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      // Tall enough that the UI's codec settings drawer fits above the page below it.
      viewport: { width: 1400, height: 1600 },
    });
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    if (dev && dev.exitCode === null) {
      const exited = new Promise((r) => dev.once('exit', r));
      dev.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 60_000))]);
      if (dev.exitCode === null) dev.kill('SIGKILL');
    }
    await ws?.remove();
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  }, 120_000);

  /** The run, found the way a reviewer would: the workflow list filtered by the MlcycleModel search attribute. */
  async function openRunFromSearch(page: Page): Promise<void> {
    const query = encodeURIComponent(`MlcycleModel="${model}"`);
    await page.goto(`${uiUrl}/namespaces/default/workflows?query=${query}`);
    const rows = page.locator('[data-testid="workflows-summary-configurable-table-row"]');
    await rows.first().waitFor({ timeout: 60_000 });
    expect(await rows.count()).toBe(1);
    await expect.poll(() => rows.first().innerText()).toContain(workflowId);
    await page.locator(`a[href*="/workflows/${workflowId}/"]`).first().click();
    await page.waitForURL(new RegExp(`/workflows/${workflowId}/`), { timeout: 60_000 });
    await page.getByText('Input', { exact: true }).first().waitFor({ state: 'attached', timeout: 60_000 });
  }

  /** The second half of authorizing a browser (see src/codec/codec-server.ts): the UI's per-browser codec setting. */
  async function useBrowserCodecSetting(page: Page): Promise<void> {
    await page.locator('[data-testid="top-nav"] [data-testid^="data-encoder-status"]').click();
    await page.locator('[data-testid="override-accordion"]').click();
    await page.locator('[data-testid="use-local-endpoint-input"]').click();
    await page.locator('#data-encoder-endpoint-input').fill(codecUrl);
    // The drawer is taller than its box; these sit under the sticky top bar, so click them directly.
    await page.locator('#pass-access-credentials').dispatchEvent('click');
    await page.locator('[data-testid="confirm-data-encoder-button"]').dispatchEvent('click');
    const stored = await page.evaluate(() => ({ override: localStorage.getItem('overrideRemoteCodecConfiguration'), creds: localStorage.getItem('includeCredentials'), endpoint: localStorage.getItem('endpoint') }));
    expect(stored).toEqual({ override: 'true', creds: 'true', endpoint: JSON.stringify(codecUrl) });
  }

  it('shows ciphertext until the browser logs in to the codec server, then the decoded input', async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const codecAnswers: number[] = [];
    page.on('response', (r) => {
      if (r.url().startsWith(`${codecUrl}/decode`)) codecAnswers.push(r.status());
    });
    const plaintext = [ws.dir, 'tenure_months', 'learningRate', '0.0613'];

    // Not authorized: a fresh browser. The UI asks the codec server, is refused, and shows the payloads as stored.
    await openRunFromSearch(page);
    await page.waitForFunction(() => document.body.innerText.includes('YmluYXJ5L2VuY3J5cHRlZA=='), undefined, { timeout: 60_000 }); // base64 of binary/encrypted
    await expect.poll(() => codecAnswers.includes(401), { timeout: 30_000 }).toBe(true);
    await page.locator('[data-testid="top-nav"] [data-testid="data-encoder-status-error"]').waitFor({ timeout: 30_000 });
    let text = await bodyText(page);
    for (const p of plaintext) expect(text, `"${p}" visible without authorization`).not.toContain(p);

    // The UI set to send credentials is still not enough without the login cookie.
    await useBrowserCodecSetting(page);
    codecAnswers.length = 0;
    await openRunFromSearch(page);
    await page.waitForFunction(() => document.body.innerText.includes('YmluYXJ5L2VuY3J5cHRlZA=='), undefined, { timeout: 60_000 });
    await expect.poll(() => codecAnswers.length, { timeout: 30_000 }).toBeGreaterThan(0);
    expect(codecAnswers.every((s) => s === 401)).toBe(true);
    text = await bodyText(page);
    for (const p of plaintext) expect(text, `"${p}" visible with the UI setting but no login`).not.toContain(p);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'unauthorized-run.png'), fullPage: true });

    // A wrong token is refused.
    await page.goto(`${codecUrl}/`);
    await page.fill('#token', 'not-the-token-at-all-000000');
    await page.click('#login');
    expect(await page.innerText('#status')).toBe('wrong token');

    // Log in with the token `mlcycle dev` wrote to the state folder.
    const token = (await fsp.readFile(path.join(dir, 'state', 'codec-token'), 'utf8')).trim();
    expect((await fsp.stat(path.join(dir, 'state', 'codec-token'))).mode & 0o777).toBe(0o600);
    await page.fill('#token', token);
    await page.click('#login');
    expect(await page.innerText('#status')).toBe('authorized');

    codecAnswers.length = 0;
    await openRunFromSearch(page);
    await page.waitForFunction((dataDir) => document.body.innerText.includes(dataDir), ws.dir, { timeout: 60_000 });
    text = await bodyText(page);
    expect(text).toContain(`"name": "${model}"`);
    expect(text).toContain('tenure_months');
    expect(text).toContain('"learningRate": 0.0613');
    expect(text).not.toContain('Codec Server could not connect');
    await page.locator('[data-testid="top-nav"] [data-testid="data-encoder-status-success"]').waitFor({ timeout: 30_000 });
    expect(codecAnswers.length).toBeGreaterThan(0);
    expect(codecAnswers.every((s) => s === 200)).toBe(true);
    await page.getByText(ws.dir).first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(SCREENSHOTS, 'decoded-input.png'), fullPage: true });
    expect(fs.statSync(path.join(SCREENSHOTS, 'decoded-input.png')).size).toBeGreaterThan(10_000);
  }, 300_000);
});
