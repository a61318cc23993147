/**
 * The one list of a process's secrets and the one function that takes them out of text. Whatever
 * leaves a worker as text (an activity's failure or result, a log line) passes through here, so a
 * message that quotes a secret (a trainer's output, a column name read from a file, a library's
 * error) carries `[redacted NAME]` instead.
 *
 * The list: the values of environment variables whose names say they hold a secret, plus the
 * secrets the process loaded from elsewhere and registered (generated MinIO credentials, codec key
 * material, token files).
 */

/**
 * Names of variables that hold secrets: their values never reach a trainer, a message or a log.
 * Not SESSION: a desktop's XDG_SESSION_DESKTOP=ubuntu would take the user's name out of every
 * path (AWS_SESSION_TOKEN is a TOKEN).
 */
export const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|ACCESS_KEY|_KEY$|_KEYS$|WEBHOOK|AUTH/i;
/**
 * Names that match SECRET_NAME but hold an identifier or a location, not a secret: redacting
 * AWS_ACCESS_KEY_ID=mlcycle (docker-compose.yml) would take the bucket out of every s3:// URI.
 */
const NOT_SECRET_NAME = /_ID$|_(FILE|PATH|DIR|SOCK)$/i;

/** Whether the variable `name` holds a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name);
}

/**
 * Shorter values ("1", "true", a port, a word) would redact ordinary text, results included, where
 * a redaction changes data; a secret this short is no secret.
 */
const MIN_SECRET_LENGTH = 8;

/** Secrets loaded from files or generated: value → what the redaction names it. */
const registered = new Map<string, string>();

/** Adds a secret that is not in a secret-named variable (a key from a file, generated credentials). */
export function registerSecret(label: string, value: string | undefined): void {
  if (value !== undefined && value.length >= MIN_SECRET_LENGTH) registered.set(value, label);
}

/** [label, value] of every secret, longest first (a secret that contains another is replaced whole). */
export function secretValues(env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value.length >= MIN_SECRET_LENGTH && isSecretName(name)) out.push([name, value]);
  }
  // A value also in a variable is named by the variable, which says more to the reader.
  const inEnv = new Set(out.map(([, v]) => v));
  for (const [value, label] of registered) if (!inEnv.has(value)) out.push([label, value]);
  return out.sort(([, a], [, b]) => b.length - a.length);
}

function replaceAll(text: string, secrets: ReadonlyArray<[string, string]>): string {
  let out = text;
  for (const [label, value] of secrets) {
    if (out.includes(value)) out = out.split(value).join(`[redacted ${label}]`);
    // As a JSON string holds it (a quote or backslash in the secret is escaped there).
    const escaped = JSON.stringify(value).slice(1, -1);
    if (escaped !== value && out.includes(escaped)) out = out.split(escaped).join(`[redacted ${label}]`);
  }
  return out;
}

/** `text` with every secret's value replaced by `[redacted NAME]`. */
export function redactSecrets(text: string, env: NodeJS.ProcessEnv | Record<string, string | undefined> = process.env): string {
  return replaceAll(text, secretValues(env));
}

/**
 * A copy of `value` (strings, arrays, plain objects, errors with their causes) without secrets;
 * `value` itself when it held none, so the common case allocates nothing. Errors are copied with
 * their prototype, so a logged failure keeps its class.
 */
export function redactValue<T>(value: T, secrets: ReadonlyArray<[string, string]> = secretValues()): T {
  if (secrets.length === 0) return value;
  return walk(value, secrets, 0, 'copy', new WeakSet()) as T;
}

/**
 * Takes the secrets out of an error in place (message, stack, details, the cause chain): the
 * error the SDK turns into a Temporal failure must stay the same object.
 */
export function redactErrorInPlace(err: unknown, secrets: ReadonlyArray<[string, string]> = secretValues()): void {
  if (secrets.length === 0) return;
  walk(err, secrets, 0, 'in-place', new WeakSet());
}

/** Deeper than any result or log record mlcycle writes; a pathological structure is left as is below it. */
const MAX_DEPTH = 32;

type Mode = 'copy' | 'in-place';

function walk(value: unknown, secrets: ReadonlyArray<[string, string]>, depth: number, mode: Mode, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return replaceAll(value, secrets);
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  // Bytes are not text; a structure met twice (a cycle, a shared object) is walked once.
  if (ArrayBuffer.isView(value) || seen.has(value)) return value;
  seen.add(value);
  if (value instanceof Error) return walkError(value, secrets, depth, mode, seen);
  if (Array.isArray(value)) {
    let changed = false;
    const out = value.map((v) => {
      const r = walk(v, secrets, depth + 1, mode, seen);
      if (r !== v) changed = true;
      return r;
    });
    return changed ? out : value;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value; // Dates, Maps, class instances: not text
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const r = walk(v, secrets, depth + 1, mode, seen);
    if (r !== v) (out ??= { ...(value as Record<string, unknown>) })[k] = r;
  }
  return out ?? value;
}

function walkError(err: Error, secrets: ReadonlyArray<[string, string]>, depth: number, mode: Mode, seen: WeakSet<object>): Error {
  const fields: Record<string, unknown> = {};
  for (const key of ['message', 'stack']) {
    const v = (err as unknown as Record<string, unknown>)[key];
    if (typeof v === 'string') {
      const r = replaceAll(v, secrets);
      if (r !== v) fields[key] = r;
    }
  }
  for (const key of [...Object.keys(err), 'cause', 'details']) {
    if (key in fields || !(key in err)) continue;
    const v = (err as unknown as Record<string, unknown>)[key];
    const r = walk(v, secrets, depth + 1, mode, seen);
    if (r !== v) fields[key] = r;
  }
  if (Object.keys(fields).length === 0) return err;
  const target = mode === 'in-place' ? err : (Object.create(Object.getPrototypeOf(err) as object, Object.getOwnPropertyDescriptors(err)) as Error);
  for (const [key, v] of Object.entries(fields)) {
    const own = Object.getOwnPropertyDescriptor(target, key);
    try {
      Object.defineProperty(target, key, { value: v, writable: true, configurable: true, enumerable: own?.enumerable ?? false });
    } catch {
      // A frozen error keeps that field: redaction never changes what is thrown into another error.
    }
  }
  return target;
}
