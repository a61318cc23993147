import { createHmac } from 'node:crypto';
import { z } from 'zod';

const EnvVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name, e.g. MLCYCLE_WEBHOOK_SECRET');

/** Query parameters that carry credentials in the wild (Slack, Teams, signed URLs…). */
const SECRET_PARAM = /(token|secret|key|sig|signature|password|passwd|auth|credential)/i;

function carriesCredentials(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username || url.password) return true;
  return [...url.searchParams.keys()].some((k) => SECRET_PARAM.test(k));
}

/**
 * Where notifications go. The spec travels through workflow history, so it may name a webhook
 * only when its URL is not itself a secret; a secret URL and the signing secret are named by
 * environment variable and read by the worker that sends the request.
 */
export const NotifySection = z
  .object({
    webhook: z
      .url('expected an http(s) URL')
      .refine((u) => /^https?:\/\//i.test(u), 'expected an http(s) URL')
      .refine((u) => !carriesCredentials(u), 'must not carry credentials (user:password@ or a token in the query): put the URL in an environment variable of the workers and name it in webhookEnv')
      .optional(),
    webhookEnv: EnvVarName.optional(),
    /** Requests are signed with HMAC-SHA256 of `<timestamp>.<body>` under this variable's value. */
    secretEnv: EnvVarName.optional(),
  })
  .strict()
  .refine((n) => (n.webhook === undefined) !== (n.webhookEnv === undefined), { message: 'set exactly one of webhook or webhookEnv', path: ['webhook'] });
export type NotifyTarget = z.infer<typeof NotifySection>;

export class NotifyConfigError extends Error {
  readonly code = 'NOTIFY_CONFIG';
}

export interface ResolvedTarget {
  url: string;
  /** How messages refer to the target: the URL when it is public, the variable's name when not. */
  label: string;
  secret?: string;
}

export function resolveNotifyTarget(target: NotifyTarget, env: Record<string, string | undefined>): ResolvedTarget {
  let url: string;
  let label: string;
  if (target.webhookEnv) {
    const value = env[target.webhookEnv];
    if (!value) throw new NotifyConfigError(`notify.webhookEnv: ${target.webhookEnv} is not set in the worker's environment`);
    if (!/^https?:\/\//i.test(value)) throw new NotifyConfigError(`notify.webhookEnv: ${target.webhookEnv} does not hold an http(s) URL`);
    url = value;
    label = `$${target.webhookEnv}`;
  } else {
    url = target.webhook as string;
    label = url;
  }
  if (!target.secretEnv) return { url, label };
  const secret = env[target.secretEnv];
  if (!secret) throw new NotifyConfigError(`notify.secretEnv: ${target.secretEnv} is not set in the worker's environment`);
  return { url, label, secret };
}

export const SIGNATURE_HEADER = 'x-mlcycle-signature';
export const TIMESTAMP_HEADER = 'x-mlcycle-timestamp';

/** Receivers recompute this over the raw body and reject stale timestamps (replayed requests). */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
