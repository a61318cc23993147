import { describe, expect, it } from 'vitest';
import { cookieValue, csrfToken, newSessionCookie, sameOrigin, verifyCsrf, verifySessionCookie, SESSION_MAX_AGE_S } from '../../src/console/session';

const token = 'a-console-token-of-enough-length';

describe('console sessions', () => {
  it('a cookie made with the token verifies; with another token, tampered or expired it does not', () => {
    const now = 1_800_000_000;
    const cookie = newSessionCookie(token, now);
    expect(cookie).not.toContain(token);
    const s = verifySessionCookie(token, cookie, now + 10);
    expect(s?.issuedAt).toBe(now);
    expect(verifySessionCookie('another-token-of-enough-length', cookie, now)).toBeUndefined();
    expect(verifySessionCookie(token, cookie.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')), now)).toBeUndefined();
    expect(verifySessionCookie(token, cookie, now + SESSION_MAX_AGE_S + 1)).toBeUndefined();
    expect(verifySessionCookie(token, undefined, now)).toBeUndefined();
    expect(verifySessionCookie(token, 'garbage', now)).toBeUndefined();
  });

  it('CSRF tokens belong to one session', () => {
    const a = verifySessionCookie(token, newSessionCookie(token))!;
    const b = verifySessionCookie(token, newSessionCookie(token))!;
    expect(verifyCsrf(token, a, csrfToken(token, a))).toBe(true);
    expect(verifyCsrf(token, a, csrfToken(token, b))).toBe(false);
    expect(verifyCsrf(token, a, undefined)).toBe(false);
  });

  it('writes must come from the console origin', () => {
    expect(sameOrigin({ origin: 'http://127.0.0.1:8300', host: '127.0.0.1:8300' }, 'http')).toBe(true);
    expect(sameOrigin({ origin: 'http://evil.example', host: '127.0.0.1:8300' }, 'http')).toBe(false);
    expect(sameOrigin({ referer: 'http://127.0.0.1:8300/approvals', host: '127.0.0.1:8300' }, 'http')).toBe(true);
    expect(sameOrigin({ referer: 'http://127.0.0.1:9999/', host: '127.0.0.1:8300' }, 'http')).toBe(false);
    expect(sameOrigin({ host: '127.0.0.1:8300' }, 'http')).toBe(false);
  });

  it('reads one cookie out of a header', () => {
    expect(cookieValue('a=1; mlcycle_console_session=x.y; b=2', 'mlcycle_console_session')).toBe('x.y');
    expect(cookieValue(undefined, 'a')).toBeUndefined();
  });
});
