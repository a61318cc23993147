import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitForRun } from '../../src/client/wait-for-run';
import { AesGcmPayloadCodec, ENCRYPTED_ENCODING } from '../../src/codec/aes-gcm-codec';
import { createCodecServer, generateToken, type CodecServer } from '../../src/codec/codec-server';
import { parseEnv } from '../../src/config/env';
import { TEMPORAL_CLI, resolveBinary } from '../../src/stack/binaries';
import type { PipelineInput } from '../../workflows/pipeline-types';
import { SpecWorkspace } from '../helpers/specs';
import { startTestEnv, type TestEnv } from '../helpers/test-env';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/**
 * The history exactly as the server hands it to anyone with API access: a plain connection, no
 * data converter, so nothing is decoded on the way.
 */
async function rawHistory(address: string, namespace: string, workflowId: string): Promise<HistoryEvent[]> {
  const connection = await Connection.connect({ address });
  try {
    const events: HistoryEvent[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const res = await connection.workflowService.getWorkflowExecutionHistory({ namespace, execution: { workflowId }, nextPageToken, maximumPageSize: 500 });
      events.push(...(res.history?.events ?? []));
      nextPageToken = res.nextPageToken && res.nextPageToken.length > 0 ? res.nextPageToken : undefined;
    } while (nextPageToken);
    return events;
  } finally {
    await connection.close();
  }
}

/** Every byte of the history as the server stores it: payload data raw, strings in UTF-8. */
function historyBytes(events: HistoryEvent[]): Buffer {
  return Buffer.from(temporal.api.history.v1.History.encode({ events }).finish());
}

interface FoundPayload {
  path: string;
  payload: Payload;
}

/** Every Payload in the events, with where it sits; search attributes are skipped (plaintext by design, for filtering). */
function payloadsIn(value: unknown, at = ''): FoundPayload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => payloadsIn(v, `${at}[${i}]`));
  const obj = value as Record<string, unknown>;
  if (obj.metadata && typeof obj.metadata === 'object' && (obj.data === undefined || obj.data instanceof Uint8Array) && !Array.isArray(obj.metadata)) {
    return [{ path: at, payload: obj }];
  }
  return Object.entries(obj).flatMap(([k, v]) => (k === 'searchAttributes' || k === 'upsertWorkflowSearchAttributesEventAttributes' ? [] : payloadsIn(v, at ? `${at}.${k}` : k)));
}

const encodingOf = (p: Payload) => Buffer.from(p.metadata?.encoding ?? []).toString('utf8');

const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});

describe('what the Temporal server stores: ciphertext only, and never a credential', () => {
  let env: TestEnv;
  let ws: SpecWorkspace;
  let codecServer: CodecServer;
  let codecUrl: string;
  const codecToken = generateToken();
  const webhookToken = `hooktoken${generateToken()}`;
  const webhookSecret = `hooksecret${generateToken()}`;
  const hookRequests: Array<{ url: string; signature: string | undefined }> = [];
  const hook = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hookRequests.push({ url: req.url ?? '', signature: req.headers['x-mlcycle-signature'] as string | undefined });
      res.writeHead(204).end();
    });
  });

  /** Needles that must not appear in the stored history (plaintext of the spec, and credentials). */
  let plaintext: string[];
  let credentials: Array<[string, Buffer]>;

  beforeAll(async () => {
    env = await startTestEnv();
    ws = await SpecWorkspace.create({ rows: 800 });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    // The worker resolves the secret URL and the signing secret from its environment; the spec only names the variables.
    process.env.RAWHIST_WEBHOOK_URL = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook?token=${webhookToken}`;
    process.env.RAWHIST_WEBHOOK_SECRET = webhookSecret;
    codecServer = createCodecServer({ keyring: env.keyring, token: codecToken, origins: ['http://127.0.0.1:8233'], port: 0 });
    ({ url: codecUrl } = await codecServer.start());

    const stack = inject('stack');
    plaintext = [ws.dir, 'churn.csv', 'tenure_months', 'monthly_charges', 'support_tickets', 'learningRate', 'logistic-regression', 's3://', env.s3.prefix];
    const keyMaterial = [...env.keyring.keys.values()];
    credentials = [
      ['S3 secret key', Buffer.from(stack.s3.secretAccessKey)],
      ['S3 access key', Buffer.from(stack.s3.accessKeyId)],
      ['codec token', Buffer.from(codecToken)],
      ['webhook URL token', Buffer.from(webhookToken)],
      ['webhook signing secret', Buffer.from(webhookSecret)],
      ...keyMaterial.flatMap((k, i): Array<[string, Buffer]> => [
        [`codec key ${i} (raw)`, k],
        [`codec key ${i} (base64)`, Buffer.from(k.toString('base64'))],
      ]),
    ];
  });
  afterAll(async () => {
    await env?.close();
    await ws?.remove();
    await codecServer?.stop();
    hook.close();
    delete process.env.RAWHIST_WEBHOOK_URL;
    delete process.env.RAWHIST_WEBHOOK_SECRET;
  });

  const PATCH_IDS = ['signed-approvals', 'deploy-owner-per-alias'];

  function assertNothingReadable(events: HistoryEvent[]) {
    const bytes = historyBytes(events);
    expect(bytes.length).toBeGreaterThan(1000);
    for (const needle of plaintext) expect(bytes.includes(Buffer.from(needle)), `plaintext "${needle}" in the stored history`).toBe(false);
    for (const [what, needle] of credentials) expect(bytes.includes(needle), `${what} in the stored history`).toBe(false);
    const payloads = payloadsIn(events);
    expect(payloads.length).toBeGreaterThan(5);
    // The SDK writes patch markers (`patched('signed-approvals')`, `patched('deploy-owner-per-alias')`)
    // itself, outside the codec: their payload is the patch id, a name from the source, and nothing of the run.
    const readable = payloads
      .filter((p) => encodingOf(p.payload) !== ENCRYPTED_ENCODING)
      .filter((p) => !(p.path.endsWith('markerRecordedEventAttributes.details.patch-data.payloads[0]') && PATCH_IDS.some((id) => Buffer.from(p.payload.data ?? []).toString().includes(id))))
      .map((p) => `${p.path} (${encodingOf(p.payload)})`);
    expect(readable, 'payloads stored without encryption').toEqual([]);
  }

  /** Credentials are kept out of arguments and results altogether, not merely encrypted: decrypt and look again. */
  async function assertNoCredentialsDecrypted(events: HistoryEvent[]) {
    // Not strict: the SDK's plaintext patch marker is read as it is.
    const codec = new AesGcmPayloadCodec(env.keyring, { strict: false });
    const decoded = await codec.decode(payloadsIn(events).map((p) => p.payload));
    const all = Buffer.concat(decoded.map((p) => Buffer.concat([Buffer.from(p.data ?? []), ...Object.values(p.metadata ?? {}).map((v) => Buffer.from(v))])));
    // Decryption works, so the needles above were looked for where they would have been.
    expect(all.includes(Buffer.from(ws.dir))).toBe(true);
    // The embedded MinIO's access key is the word "mlcycle", which the spec's apiVersion and the bucket name in
    // s3:// references legitimately hold; what must not appear is a credential object.
    for (const [what, needle] of credentials) {
      if (what !== 'S3 access key') expect(all.includes(needle), `${what} in a decrypted payload`).toBe(false);
    }
    for (const field of ['accessKeyId', 'secretAccessKey', 'AWS_SECRET_ACCESS_KEY', 'credentials']) {
      expect(all.includes(Buffer.from(field)), `"${field}" in a decrypted payload`).toBe(false);
    }
  }

  it('a completed run with an approval webhook: inputs, results, activity payloads and notifications are ciphertext; the codec server recovers the input', async () => {
    const spec = await ws.spec('raw.yaml', (d) => {
      d.name = 'rawhist';
      d.train.params = { learningRate: 0.0731, epochs: 6 };
      d.approval = { approvers: ['alice'], required: 1, timeout: '2s', onTimeout: 'approve', notify: { webhookEnv: 'RAWHIST_WEBHOOK_URL', secretEnv: 'RAWHIST_WEBHOOK_SECRET' } };
    });
    const { workflowId } = await env.client.startPipeline(spec, { cache: false });
    const status = await waitForRun(env.client, workflowId);
    expect(status.status, status.error).toBe('completed');
    // The webhook was really called with the secret URL and a signature, so the secrets were in play.
    expect(hookRequests.length).toBeGreaterThan(0);
    expect(hookRequests.every((r) => r.url.includes(webhookToken) && /^sha256=/.test(r.signature ?? ''))).toBe(true);

    const { address, namespace } = { address: inject('stack').temporalAddress, namespace: inject('stack').namespace };
    const events = await rawHistory(address, namespace, workflowId);
    const types = new Set(events.map((e) => String(e.eventType)));
    expect([...types].length).toBeGreaterThan(4);
    expect(events.some((e) => e.activityTaskCompletedEventAttributes?.result?.payloads?.length)).toBe(true);
    assertNothingReadable(events);
    await assertNoCredentialsDecrypted(events);

    // The run's input, through the codec server with the token, is the spec again.
    const started = events.find((e) => e.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes;
    const inputPayloads = started?.input?.payloads ?? [];
    expect(inputPayloads).toHaveLength(1);
    const res = await fetch(`${codecUrl}/decode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${codecToken}`, 'x-namespace': namespace },
      body: JSON.stringify({ payloads: inputPayloads.map((p) => toJson(p)) }),
    });
    expect(res.status).toBe(200);
    const [decoded] = ((await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> }).payloads;
    const input = defaultPayloadConverter.fromPayload<PipelineInput>({
      metadata: Object.fromEntries(Object.entries(decoded!.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
      data: Buffer.from(decoded!.data, 'base64'),
    });
    expect(input.spec.train.params).toEqual({ learningRate: 0.0731, epochs: 6 });
    expect(input.source).toContain(ws.dir);
    expect(input.spec.approval?.notify).toEqual({ webhookEnv: 'RAWHIST_WEBHOOK_URL', secretEnv: 'RAWHIST_WEBHOOK_SECRET' });
    // Without the token the same request is refused.
    const denied = await fetch(`${codecUrl}/decode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payloads: inputPayloads.map((p) => toJson(p)) }) });
    expect(denied.status).toBe(401);

    // The temporal CLI reads it decoded through the same codec server with a Bearer token.
    const bin = await resolveBinary(TEMPORAL_CLI, parseEnv({ ...process.env, TEMPORAL_ADDRESS: '', MLCYCLE_S3_ENDPOINT: '' }));
    const { stdout } = await promisify(execFile)(
      bin.path,
      ['workflow', 'show', '--workflow-id', workflowId, '--address', address, '--namespace', namespace, '--codec-endpoint', codecUrl, '--codec-auth', `Bearer ${codecToken}`, '--output', 'json'],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
    );
    const shown = JSON.parse(stdout) as { events: Array<{ workflowExecutionStartedEventAttributes?: { input: { payloads: Array<{ metadata: Record<string, string>; data: string }> } } }> };
    const cliInput = shown.events.find((e) => e.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes?.input.payloads[0];
    expect(Buffer.from(cliInput?.metadata.encoding ?? '', 'base64').toString()).toBe('json/plain');
    expect(Buffer.from(cliInput?.data ?? '', 'base64').toString()).toContain('"learningRate":0.0731');
  }, 300_000);

  it('a failed run: its failure messages are encoded too, and decode for the client', async () => {
    const spec = await ws.spec('raw-fail.yaml', (d) => {
      d.name = 'rawhist-fail';
      d.data.schema.tenure_months = { type: 'number', min: 0, max: 1 };
    });
    const { workflowId } = await env.client.startPipeline(spec, { cache: false });
    const status = await waitForRun(env.client, workflowId);
    expect(status.status).toBe('failed');
    // The client holds the key: it reads the real message, which names the column.
    expect(status.error).toContain('tenure_months');

    const stack = inject('stack');
    const events = await rawHistory(stack.temporalAddress, stack.namespace, workflowId);
    const failures = events.flatMap((e) => [e.activityTaskFailedEventAttributes?.failure, e.workflowExecutionFailedEventAttributes?.failure].filter((f) => f != null));
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      // Messages and stack traces travel as encrypted attributes; what is left in clear says nothing.
      expect(failure.message).toBe('Encoded failure');
      expect(failure.stackTrace ?? '').toBe('');
      expect(encodingOf(failure.encodedAttributes as Payload)).toBe(ENCRYPTED_ENCODING);
    }
    assertNothingReadable(events);
    await assertNoCredentialsDecrypted(events);
  }, 300_000);
});
