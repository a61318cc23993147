/**
 * `mlcycle ui`: the console, a fastify app rendering pages on the server from the registry (S3)
 * and Temporal, with one script and one stylesheet of its own. See README "Console".
 *
 * Access: every page but /sign-in needs the session cookie that POST /sign-in trades for the
 * console token (HttpOnly, SameSite=Strict; see session.ts). Writes (monitor buttons, relaying a
 * decision) also need the session's CSRF token and a same-origin Origin. Approval power is not the
 * console's to give: the browser signs the decision with the approver's own key and the gate
 * verifies it, so a console (or its token) can relay decisions but never make one.
 *
 * CSP forbids inline scripts and anything from elsewhere; reports from the artifact store are
 * served under their own CSP with `sandbox` and shown in sandboxed iframes.
 */
import fs from 'node:fs';
import nodePath from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { fastifyLifecycle } from '../stack/fastify-lifecycle';
import { z } from 'zod';
import { parseStatement, SignedVoteSchema, VoteRefused } from '../approval/signed-vote';
import { formatIssues } from '../config/zod-issues';
import { MlcycleError, isMlcycleError } from '../errors';
import { MODEL_NAME } from '../registry/model-registry';
import { packageRoot } from '../package-info';
import type { ConsoleData } from './console-data';
import { buildLineage } from './lineage';
import * as pages from './pages';
import { CONSOLE_COOKIE, SESSION_MAX_AGE_S, csrfToken, cookieValue, newSessionCookie, sameOrigin, sameSecret, verifyCsrf, verifySessionCookie, type Session } from './session';

export const DEFAULT_CONSOLE_PORT = 8300;
const DEFAULT_COMPARE = 5;

export interface ConsoleServerOptions {
  data: ConsoleData;
  token: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  log?: (line: string) => void;
}

export interface ConsoleServer {
  readonly app: FastifyInstance;
  start(): Promise<{ url: string }>;
  stop(): Promise<void>;
}

const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/** Reports are script-free today; `sandbox` keeps them so even if one were not. */
const ARTIFACT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'";

const STATIC_FILES: Record<string, string> = { 'console.js': 'text/javascript; charset=utf-8', 'console.css': 'text/css; charset=utf-8' };

const ModelParam = z.object({ name: z.string().regex(MODEL_NAME, 'expected a model name') });
const VersionParam = ModelParam.extend({ version: z.coerce.number().int().positive('expected a version number >= 1') });
const MonitorAction = z.object({ name: z.string().regex(MODEL_NAME, 'expected a model name'), action: z.enum(['pause', 'resume', 'trigger']) });
const DecideBody = SignedVoteSchema;

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new MlcycleError('USAGE', `${what}: ${formatIssues(r.error).split('\n').join('; ')}`);
  return r.data;
}

/** Only a local path: `next` must never send a signed-in browser elsewhere. */
function localNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])[^\s]*$/.test(next) && !next.startsWith('/sign-') ? next : '/models';
}

export function createConsoleServer(opts: ConsoleServerOptions): ConsoleServer {
  const { data, token } = opts;
  const log = opts.log ?? (() => undefined);
  const staticDir = nodePath.join(packageRoot(), 'src', 'console', 'static');
  const staticFiles = new Map(Object.keys(STATIC_FILES).map((f) => [f, fs.readFileSync(nodePath.join(staticDir, f))]));
  const webUiUrl = data.client.options.webUiUrl;
  const namespace = data.client.options.namespace;
  const webUiLink = (id: string) => data.client.webUiLink(id);
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024, routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 } });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });
  app.decorateRequest('session', undefined);

  const sessionOf = (req: FastifyRequest): Session | undefined => (req as FastifyRequest & { session?: Session }).session;
  const ctx = (req: FastifyRequest): pages.PageContext => {
    const s = sessionOf(req);
    return { namespace, ...(webUiUrl ? { webUiUrl } : {}), ...(s ? { csrf: csrfToken(token, s) } : {}) };
  };
  const send = (reply: FastifyReply, body: string, status = 200) => reply.code(status).type('text/html; charset=utf-8').header('Cache-Control', 'no-store').send(body);
  const isPublic = (url: string) => url === '/healthz' || url.startsWith('/static/') || url === '/sign-in' || url.startsWith('/sign-in?') || url === '/favicon.ico';

  app.addHook('onRequest', async (req, reply) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'same-origin');
    const session = verifySessionCookie(token, cookieValue(req.headers.cookie, CONSOLE_COOKIE));
    if (session) (req as FastifyRequest & { session?: Session }).session = session;
    const unsafe = req.method !== 'GET' && req.method !== 'HEAD';
    // Every write, sign-in included (login CSRF), comes from a page of this console.
    if (unsafe && !sameOrigin({ origin: req.headers.origin, referer: req.headers.referer, host: req.headers.host }, req.protocol)) {
      return reply.code(403).type('application/json').send({ error: 'cross-origin request refused' });
    }
    if (isPublic(req.url)) return;
    if (!session) {
      if (req.url.startsWith('/api/')) return reply.code(401).send({ error: 'sign in first (POST /sign-in with the console token)' });
      if (req.method === 'GET') return reply.redirect(`/sign-in?next=${encodeURIComponent(req.url)}`, 303);
      return send(reply, pages.signInPage(ctx(req), 'Your session has expired: sign in again.'), 401);
    }
    // JSON API writes carry the CSRF token in a header: checked before the body is read.
    if (unsafe && req.url.startsWith('/api/') && !verifyCsrf(token, session, req.headers['x-csrf-token'])) {
      return reply.code(403).send({ error: 'missing or wrong CSRF token (reload the page)' });
    }
  });
  // Form posts carry it in the body.
  app.addHook('preHandler', async (req, reply) => {
    const session = sessionOf(req);
    if (req.method !== 'POST' || req.url.startsWith('/api/') || isPublic(req.url) || !session) return;
    if (!verifyCsrf(token, session, (req.body as Record<string, unknown> | undefined)?._csrf)) {
      return send(reply, pages.errorPage(ctx(req), 403, 'The form was missing its CSRF token or it did not match this session; reload the page and try again.'), 403);
    }
  });
  app.addHook('onSend', async (req, reply, payload) => {
    if (!reply.hasHeader('Content-Security-Policy')) reply.header('Content-Security-Policy', PAGE_CSP);
    if (!req.url.startsWith('/artifact')) reply.header('X-Frame-Options', 'DENY');
    return payload;
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/favicon.ico', async (_req, reply) => reply.code(204).send());
  app.get<{ Params: { file: string } }>('/static/:file', async (req, reply) => {
    const body = staticFiles.get(req.params.file);
    if (!body) return reply.code(404).send({ error: 'not found' });
    return reply.type(STATIC_FILES[req.params.file] as string).header('Cache-Control', 'no-cache').send(body);
  });

  app.get<{ Querystring: { next?: string } }>('/sign-in', async (req, reply) => {
    if (sessionOf(req)) return reply.redirect(localNext(req.query.next), 303);
    return send(reply, pages.signInPage(ctx(req)));
  });
  app.post<{ Querystring: { next?: string } }>('/sign-in', async (req, reply) => {
    const given = (req.body as { token?: unknown } | undefined)?.token;
    if (typeof given !== 'string' || !sameSecret(given.trim(), token)) {
      log('console: refused a sign-in with a wrong token');
      await new Promise((r) => setTimeout(r, 300));
      return send(reply, pages.signInPage({ namespace }, 'Wrong token.'), 401);
    }
    const secure = req.protocol === 'https' ? '; Secure' : '';
    reply.header('Set-Cookie', `${CONSOLE_COOKIE}=${newSessionCookie(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MAX_AGE_S}${secure}`);
    return reply.redirect(localNext(req.query.next), 303);
  });
  app.post('/sign-out', async (_req, reply) => {
    reply.header('Set-Cookie', `${CONSOLE_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return reply.redirect('/sign-in', 303);
  });

  app.get('/', async (_req, reply) => reply.redirect('/models', 303));

  app.get('/models', async (req, reply) => send(reply, pages.modelsPage(ctx(req), await data.models())));

  app.get<{ Params: { name: string }; Querystring: { compare?: string | string[]; audit?: string } }>('/models/:name', async (req, reply) => {
    const { name } = parse(ModelParam, req.params, 'model');
    const auditAsked = Number.parseInt(req.query.audit ?? '1', 10) || 1;
    const [m, deployments] = await Promise.all([data.model(name, auditAsked), data.deployments(name).catch(() => [])]);
    const raw = req.query.compare;
    const asked = (Array.isArray(raw) ? raw : raw ? raw.split(',') : []).map(Number).filter((n) => Number.isInteger(n) && n > 0);
    const known = new Set(m.versions.map((v) => v.version));
    const compare = asked.length ? asked.filter((n) => known.has(n)).slice(0, 30) : m.versions.slice(-DEFAULT_COMPARE).map((v) => v.version);
    return send(reply, pages.modelPage(ctx(req), { ...m, ...(m.policy ? { policy: m.policy } : {}), compare, deployments, webUiLink }));
  });

  app.get<{ Params: { name: string; version: string } }>('/models/:name/versions/:version', async (req, reply) => {
    const { name, version } = parse(VersionParam, req.params, 'model version');
    const [d, aliases] = await Promise.all([data.version(name, version), data.registry.getAliases(name)]);
    const graph = buildLineage({ version: d.v, versions: d.versions, audit: d.audit, ...(d.source ? { source: d.source } : {}), checks: d.checks });
    const reports: Array<{ id: string; title: string; uri: string }> = [];
    if (d.v.reports.validation) reports.push({ id: 'validation', title: 'Validation report', uri: d.v.reports.validation });
    if (d.v.reports.evaluation) reports.push({ id: 'evaluation', title: 'Evaluation report', uri: d.v.reports.evaluation });
    if (d.leaderboard) reports.push({ id: 'leaderboard', title: 'Study leaderboard', uri: d.leaderboard });
    if (d.drift?.htmlUri) reports.push({ id: 'drift', title: `Drift report (${d.drift.workflowId})`, uri: d.drift.htmlUri });
    const previous = d.versions.filter((v) => v.version < version).at(-1);
    return send(reply, pages.versionPage(ctx(req), { v: d.v, aliases: Object.entries(aliases).filter(([, n]) => n === version).map(([a]) => a), graph, reports: reports.filter((r) => data.ownArtifact(r.uri)), ...(previous ? { previous } : {}) }));
  });

  app.get<{ Querystring: { uri?: string } }>('/artifact', async (req, reply) => {
    const uri = req.query.uri;
    if (typeof uri !== 'string' || !data.ownArtifact(uri)) return reply.code(404).type('text/plain').send('not an artifact of this store');
    const body = await data.artifact(uri);
    const head = body.subarray(0, 64).toString('utf8').trimStart();
    const type = head.startsWith('<') ? 'text/html; charset=utf-8' : head.startsWith('{') || head.startsWith('[') ? 'application/json' : 'application/octet-stream';
    // Content-addressed: the bytes under this URI never change.
    return reply.header('Content-Security-Policy', ARTIFACT_CSP).header('Cache-Control', 'private, max-age=86400, immutable').type(type).send(body);
  });

  app.get('/runs', async (req, reply) => send(reply, pages.runsPage(ctx(req), await data.runs(), webUiLink)));
  app.get<{ Params: { id: string } }>('/runs/:id', async (req, reply) => {
    const r = await data.run(req.params.id);
    return send(reply, 'pipeline' in r ? pages.runPage(ctx(req), r.pipeline) : pages.otherRunPage(ctx(req), r.other));
  });

  app.get('/monitors', async (req, reply) => send(reply, pages.monitorsPage(ctx(req), await data.monitors())));
  app.get<{ Params: { name: string }; Querystring: { done?: string } }>('/monitors/:name', async (req, reply) => {
    const { name } = parse(ModelParam, req.params, 'model');
    const m = await data.monitor(name);
    const done = req.query.done;
    const message = done === 'pause' ? 'Monitor paused.' : done === 'resume' ? 'Monitor resumed.' : done === 'trigger' ? 'Check triggered: it appears below once it has run.' : undefined;
    return send(reply, pages.monitorPage(ctx(req), { ...m, ...(m.schedule ? { schedule: m.schedule } : {}), ...(message ? { message } : {}) }));
  });
  app.post<{ Params: { name: string; action: string } }>('/monitors/:name/:action', async (req, reply) => {
    const { name, action } = parse(MonitorAction, req.params, 'monitor action');
    await data.monitorAction(name, action, `${action === 'pause' ? 'paused' : 'resumed'} from the console`);
    return reply.redirect(`/monitors/${encodeURIComponent(name)}?done=${action}`, 303);
  });

  app.get('/approvals', async (req, reply) => send(reply, pages.approvalsPage(ctx(req), await data.approvals())));
  app.post<{ Params: { id: string } }>('/api/approvals/:id/decide', async (req, reply) => {
    const vote = parse(DecideBody, req.body, 'signed decision');
    let decision: 'approve' | 'reject';
    try {
      decision = parseStatement(vote.statement).decision;
    } catch (err) {
      if (err instanceof VoteRefused) throw new MlcycleError('USAGE', err.message);
      throw err;
    }
    const r = await data.relayVote(req.params.id, vote, decision);
    const approvals = r.gate?.votes.filter((v) => v.decision === 'approve').length;
    return reply.send({ accepted: true, decision, ...(r.gate ? { status: r.gate.status, approvals, required: r.gate.required } : {}), ...(r.unreadable ? { unreadable: r.unreadable } : {}) });
  });

  app.setNotFoundHandler(async (req, reply) => {
    if (req.url.startsWith('/api/')) return reply.code(404).send({ error: 'not found' });
    return send(reply, pages.errorPage(ctx(req), 404, `No page at ${req.url}.`), 404);
  });
  app.setErrorHandler(async (err: Error & { statusCode?: number }, req, reply) => {
    let status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    let message = status === 500 ? 'internal error (see the console log)' : err.message;
    if (isMlcycleError(err)) {
      status = err.code === 'NOT_FOUND' ? 404 : err.code === 'DECISION_REFUSED' ? 409 : err.code === 'USAGE' ? 400 : err.code === 'SERVICE_UNREACHABLE' ? 503 : 500;
      message = err.message;
    }
    if (status >= 500) log(`console: ${req.method} ${req.url}: ${err.stack ?? err.message}`);
    if (req.url.startsWith('/api/')) return reply.code(status).send({ error: message });
    return send(reply, pages.errorPage(ctx(req), status, message), status);
  });

  return { app, ...fastifyLifecycle(app, { host: opts.host ?? '127.0.0.1', port: opts.port ?? DEFAULT_CONSOLE_PORT }) };
}
