/**
 * The Temporal remote codec server: lets an authorized person read encrypted payloads in the Web
 * UI or the `temporal` CLI while the history the server stores holds only ciphertext.
 *
 *   POST /decode, /encode  {"payloads": [{"metadata": {k: base64}, "data": base64}]} → same shape
 *                          X-Namespace is accepted (every namespace shares the keyring)
 *                          400 {error, issues: [{path, message}]} for a body that is not that
 *                          401 without credentials, 403 from a browser origin not allowed
 *                          422 {error} when a payload cannot be decrypted (unknown key, tampered)
 *   GET  /                 a page saying whether this browser is authorized, and what to do next
 *   POST /login            form or JSON {token}: sets the session cookie; POST /logout clears it
 *   GET  /healthz          200, no credentials needed (readiness checks)
 *
 * ## How a caller is authorized
 * Two credentials are accepted, both derived from one shared token (MLCYCLE_CODEC_TOKEN or a token
 * file, compared in constant time):
 *
 * - `Authorization: Bearer <token>`, for API clients and the CLI
 *   (`temporal workflow show --codec-endpoint URL --codec-auth 'Bearer <token>'`).
 * - An HttpOnly, SameSite=Strict cookie holding an HMAC of the token, set by POST /login, for
 *   browsers.
 *
 * Why a cookie and not the UI's access token: the Web UI built into `temporal server start-dev`
 * (CLI v1.5.1, ui-server v2.42.1) takes only the codec endpoint from the command line
 * (--ui-codec-endpoint); its `passAccessToken` and `includeCredentials` settings stay false. Its
 * "pass access token" sends the token of the UI's own login, which the dev server does not have
 * (the request would say `Bearer undefined`), and it also demands https. What the UI does offer is
 * a per-browser override (Codec Server settings → "Use my browser setting", persisted in the UI's
 * localStorage) with "Include cross-origin credentials", which makes its fetch send cookies. The
 * UI (127.0.0.1:8233) and this server (127.0.0.1:8888) differ only in port, so they are the same
 * site and a SameSite=Strict cookie travels with that fetch while no other site can make it. So a
 * browser is authorized in two steps: log in here once, then tick the option in the UI. A browser
 * that has not done both gets 401, and the UI shows the payloads still encrypted. A capability URL
 * (the token in the endpoint path) was rejected: the UI publishes its configured endpoint to anyone
 * who can load it (/api/v1/settings), and a browser override would keep the token in localStorage
 * where any script of the UI can read it; the HttpOnly cookie is readable by neither. A UI server
 * run from its own config file can set `codec.includeCredentials: true`, which saves the second step.
 *
 * CORS allows only the configured Web UI origin(s), with credentials; a request that names another
 * origin is refused before any payload is touched, so a page elsewhere on 127.0.0.1 cannot use a
 * logged-in browser's cookie either.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { fastifyLifecycle } from '../stack/fastify-lifecycle';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { MlcycleError, isMlcycleError } from '../errors';
import { AesGcmPayloadCodec } from './aes-gcm-codec';
import type { Keyring } from './keyring';
import { escapeHtml } from '../reports/html';
import { registerSecret } from '../config/secrets';

export const DEFAULT_CODEC_PORT = 8888;
export const SESSION_COOKIE = 'mlcycle_codec_session';
const SESSION_MAX_AGE_S = 30 * 24 * 3600;
const ALLOWED_HEADERS = 'Authorization, Authorization-Extras, Content-Type, X-Namespace';
/**
 * Payload batches of a long history can be large (Temporal's own limit is 2 MiB per payload);
 * the UI sends one event's payloads at a time. Only an authorized request's body is read at all.
 */
export const CODEC_BODY_LIMIT = 16 * 1024 * 1024;
/** Everything else (the login form) is small, and unauthenticated. */
const BODY_LIMIT = 16 * 1024;
const MIN_TOKEN_LENGTH = 16;

export interface CodecServerOptions {
  keyring: Keyring;
  /** The shared secret; Bearer clients send it, browsers trade it for the session cookie. */
  token: string;
  /** Browser origins allowed to call /encode and /decode (the Web UI's), e.g. http://127.0.0.1:8233. */
  origins: string[];
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Where the login page sends a person next. */
  uiUrl?: string;
  log?: (line: string) => void;
}

export interface CodecServer {
  readonly app: FastifyInstance;
  start(): Promise<{ url: string }>;
  stop(): Promise<void>;
}

const base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'expected base64');
const PayloadJson = z.object({
  metadata: z.record(z.string(), base64).optional(),
  data: base64.optional(),
});
/** The proto3 JSON form of temporal.api.common.v1.Payloads, as the UI and the CLI send it. */
export const CodecRequestSchema = z.object({ payloads: z.array(PayloadJson) });
type PayloadJson = z.infer<typeof PayloadJson>;

function fromJson(p: PayloadJson): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toJson(p: Payload): { metadata: Record<string, string>; data: string } {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

/** Equal-length digests make the comparison constant-time whatever the lengths of the inputs. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

/** The cookie is not the token itself, so a copied cookie jar does not hand out the Bearer token. */
function sessionValue(token: string): string {
  return createHmac('sha256', token).update('mlcycle codec-server browser session v1').digest('base64url');
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function normalizeOrigin(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MlcycleError('CONFIG_INVALID', `codec server: "${url}" is not an origin URL (expected e.g. http://127.0.0.1:8233)`);
  }
  if (!/^https?:$/.test(parsed.protocol)) throw new MlcycleError('CONFIG_INVALID', `codec server: origin "${url}" must be http(s)`);
  return parsed.origin;
}

export function validateToken(token: string, source: string): string {
  const t = token.trim();
  if (t.length < MIN_TOKEN_LENGTH || /\s/.test(t)) {
    throw new MlcycleError('CONFIG_INVALID', `${source}: the codec token must be at least ${MIN_TOKEN_LENGTH} characters without spaces (e.g. \`openssl rand -base64 32\`)`);
  }
  // A token read from a file is in no secret-named variable; it is redacted all the same.
  registerSecret('token', t);
  return t;
}

export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

export async function readTokenFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    throw new MlcycleError('CONFIG_INVALID', `--token-file: cannot read ${file}: ${(err as Error).message}`);
  }
  return validateToken(text, file);
}

/** The project's codec token, created owner-only on first use so a browser stays logged in across restarts. */
export async function ensureTokenFile(file: string): Promise<{ token: string; created: boolean }> {
  if (fs.existsSync(file)) return { token: await readTokenFile(file), created: false };
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const token = generateToken();
  registerSecret('token', token);
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await fsp.rename(tmp, file);
  return { token, created: true };
}


function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem;line-height:1.5}code{background:#eee;padding:0 .25rem}input{width:28rem}</style>
</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

export function createCodecServer(opts: CodecServerOptions): CodecServer {
  const token = validateToken(opts.token, 'codec server');
  const session = sessionValue(token);
  const origins = new Set(opts.origins.map(normalizeOrigin));
  // Display only: a plaintext payload in an old history is shown as it is.
  const codec = new AesGcmPayloadCodec(opts.keyring, { strict: false });
  const log = opts.log ?? (() => undefined);
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT, routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true } });

  // Plain HTML forms post urlencoded; fastify parses only JSON by itself.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  const authorized = (req: FastifyRequest): boolean => {
    const auth = req.headers.authorization;
    if (auth) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
      return m !== null && sameSecret(m[1] as string, token);
    }
    const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return cookie !== undefined && sameSecret(cookie, session);
  };

  app.addHook('onRequest', async (req, reply) => {
    const origin = req.headers.origin;
    if (origin === undefined) return;
    if (!origins.has(origin)) {
      // Same-origin form posts to /login carry our own origin; everything else foreign is refused.
      if (req.url.startsWith('/login') || req.url.startsWith('/logout')) {
        const self = `${req.protocol}://${req.headers.host ?? ''}`;
        if (origin === self) return;
      }
      return reply.code(403).send({ error: `origin ${origin} is not allowed to use this codec server (allowed: ${[...origins].join(', ') || 'none'})` });
    }
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Access-Control-Allow-Credentials', 'true');
    reply.header('Vary', 'Origin');
    if (req.method === 'OPTIONS') {
      reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      reply.header('Access-Control-Allow-Headers', ALLOWED_HEADERS);
      reply.header('Access-Control-Max-Age', '600');
      // Chrome asks before a page on a public address may call a loopback one.
      if (req.headers['access-control-request-private-network'] === 'true') reply.header('Access-Control-Allow-Private-Network', 'true');
      return reply.code(204).send();
    }
  });
  // The login page takes a secret: no scripts, no framing (clickjacking), forms post only here.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'");
      reply.header('X-Frame-Options', 'DENY');
      reply.header('Referrer-Policy', 'same-origin');
    }
    return payload;
  });
  // Preflights end in the hook above; this route only exists so they are routed at all.
  app.options('/*', async (_req, reply) => reply.code(403).send({ error: 'CORS preflight without an allowed Origin' }));

  // Checked before the body is read: an unauthenticated client cannot make the server buffer anything.
  const requireAuth = async (req: FastifyRequest, reply: FastifyReply) => {
    if (authorized(req)) return;
    reply.header('WWW-Authenticate', 'Bearer realm="mlcycle-codec"');
    reply.header('Connection', 'close');
    return reply.code(401).send({ error: 'codec server: a Bearer token or a login session (POST /login) is required' });
  };
  const codecRoute = (kind: 'encode' | 'decode') => async (req: FastifyRequest, reply: FastifyReply) => {
    if (!authorized(req)) {
      reply.header('WWW-Authenticate', 'Bearer realm="mlcycle-codec"');
      return reply.code(401).send({ error: 'codec server: a Bearer token or a login session (POST /login) is required' });
    }
    const parsed = CodecRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
      return reply.code(400).send({ error: `invalid ${kind} request: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues });
    }
    try {
      const payloads = parsed.data.payloads.map(fromJson);
      const out = kind === 'decode' ? await codec.decode(payloads) : await codec.encode(payloads);
      return await reply.send({ payloads: out.map(toJson) });
    } catch (err) {
      if (isMlcycleError(err)) return reply.code(422).send({ error: err.message });
      throw err;
    }
  };
  app.post('/decode', { onRequest: requireAuth, bodyLimit: CODEC_BODY_LIMIT }, codecRoute('decode'));
  app.post('/encode', { onRequest: requireAuth, bodyLimit: CODEC_BODY_LIMIT }, codecRoute('encode'));

  app.get('/healthz', async () => ({ status: 'ok' }));

  const uiSteps = (self: string) => {
    return `<ol><li>Open the Web UI${opts.uiUrl ? ` at <a href="${escapeHtml(opts.uiUrl)}">${escapeHtml(opts.uiUrl)}</a>` : ''} (with this same host name, so the cookie travels).</li>
<li>Open its <b>Codec Server</b> settings (the <code>&lt;/&gt;</code> button in the top bar), choose <b>Use my browser setting and ignore Cluster-level setting</b>, enter <code>${escapeHtml(self)}</code> as the endpoint and tick <b>Include cross-origin credentials</b>.</li>
<li>Apply: payloads show decoded. The <code>temporal</code> CLI takes <code>--codec-endpoint</code> and <code>--codec-auth 'Bearer &lt;token&gt;'</code> instead.</li></ol>`;
  };

  const loginForm = `<form method="post" action="/login"><p><label>Codec token (MLCYCLE_CODEC_TOKEN, or the file <code>codec-token</code> in the state folder of <code>mlcycle dev</code>):<br>
<input type="password" name="token" id="token" autocomplete="off" autofocus required></label></p><p><button type="submit" id="login">Authorize this browser</button></p></form>`;

  app.get('/', async (req, reply) => {
    reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-store');
    if (authorized(req)) {
      return page('mlcycle codec server: this browser is authorized', `<p id="status">authorized</p>${uiSteps(`${req.protocol}://${req.headers.host ?? ''}`)}<form method="post" action="/logout"><button type="submit">Log out</button></form>`);
    }
    return page('mlcycle codec server', `<p id="status">not authorized</p>${loginForm}`);
  });
  app.get('/login', async (_req, reply) => reply.redirect('/', 303));

  app.post('/login', async (req, reply) => {
    const given = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof given !== 'string' || !sameSecret(given.trim(), token)) {
      log('codec server: refused a login with a wrong token');
      reply.type('text/html; charset=utf-8');
      return reply.code(401).send(page('mlcycle codec server', `<p id="status">wrong token</p>${loginForm}`));
    }
    const secure = req.protocol === 'https' ? '; Secure' : '';
    reply.header('Set-Cookie', `${SESSION_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}${secure}`);
    return reply.redirect('/', 303);
  });
  app.post('/logout', async (_req, reply) => {
    reply.header('Set-Cookie', `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.redirect('/', 303);
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) log(`codec server: ${err.stack ?? err.message}`);
    return reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
  });

  return { app, ...fastifyLifecycle(app, { host: opts.host ?? '127.0.0.1', port: opts.port ?? DEFAULT_CODEC_PORT }) };
}
