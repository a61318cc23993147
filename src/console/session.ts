/**
 * Console sessions, stateless: the cookie is `<nonce>.<HMAC(token, nonce)>`, so it proves that
 * whoever got it knew the token (a copied cookie does not reveal the token itself), survives a
 * restart of the console, and is void for everyone the moment the token changes. The CSRF token
 * of a session is another HMAC of its nonce: forms and fetches must send it back, which a page on
 * another site cannot read. With SameSite=Strict the cookie is not even sent from such a page;
 * the CSRF token and the Origin check are the second and third locks on the same door.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const CONSOLE_COOKIE = 'mlcycle_console_session';
export const SESSION_MAX_AGE_S = 12 * 3600;

function mac(token: string, purpose: string, nonce: string): string {
  return createHmac('sha256', token).update(`mlcycle console ${purpose} v1\n${nonce}`).digest('base64url');
}

/** Equal-length digests: constant time whatever the lengths. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

export interface Session {
  nonce: string;
  /** Unix seconds the session was made (the cookie's Max-Age bounds it in the browser; this bounds it here). */
  issuedAt: number;
}

export function newSessionCookie(token: string, nowS = Math.floor(Date.now() / 1000)): string {
  const nonce = `${nowS.toString(36)}-${randomBytes(18).toString('base64url')}`;
  return `${nonce}.${mac(token, 'session', nonce)}`;
}

/** The session a cookie value proves, or undefined (forged, for another token, expired, malformed). */
export function verifySessionCookie(token: string, value: string | undefined, nowS = Math.floor(Date.now() / 1000)): Session | undefined {
  if (!value) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const nonce = value.slice(0, dot);
  if (!sameSecret(value.slice(dot + 1), mac(token, 'session', nonce))) return undefined;
  const issuedAt = Number.parseInt(nonce.split('-')[0] ?? '', 36);
  if (!Number.isFinite(issuedAt) || issuedAt > nowS + 60 || nowS - issuedAt > SESSION_MAX_AGE_S) return undefined;
  return { nonce, issuedAt };
}

export function csrfToken(token: string, session: Session): string {
  return mac(token, 'csrf', session.nonce);
}

export function verifyCsrf(token: string, session: Session, given: unknown): boolean {
  return typeof given === 'string' && sameSecret(given, csrfToken(token, session));
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * A state-changing request must come from the console's own pages: an Origin header (browsers send
 * one on every POST) equal to the console's origin, or, without one, a Referer on it. Neither:
 * refused, since a browser that sends neither on a POST is not one the console serves.
 */
export function sameOrigin(headers: { origin?: string; referer?: string; host?: string }, protocol: string): boolean {
  const self = `${protocol}://${headers.host ?? ''}`;
  if (headers.origin !== undefined) return headers.origin === self;
  if (headers.referer !== undefined) {
    try {
      return new URL(headers.referer).origin === self;
    } catch {
      return false;
    }
  }
  return false;
}
