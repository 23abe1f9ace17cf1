// Session logins (seed 001): the `sessionid` cookie, sent with
// `credentials: "include"`, and Django's CSRF token echoed in `X-CSRFToken` on
// every unsafe request.
import { ApiError, bodyOf, describe, json, send } from './api';

let cachedToken: string | null = null;

function cookie(name: string): string | null {
  for (const pair of document.cookie.split(';')) {
    const [key, ...rest] = pair.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

/**
 * The CSRF token: the cookie when this page can read it (same host), else the
 * value from `GET /api/auth/csrf/`, which also sets the cookie. Django changes the
 * token at login and logout, so `forget()` drops the copy.
 */
async function csrfToken(): Promise<string> {
  const fromCookie = cookie('csrftoken');
  if (fromCookie) return fromCookie;
  if (cachedToken) return cachedToken;
  const response = await send('/api/auth/csrf/', { credentials: 'include' });
  if (response.ok) {
    const body = (await bodyOf(response)) as { csrfToken?: string } | null;
    if (body?.csrfToken) cachedToken = body.csrfToken;
  } else {
    // a backend without that route sets the cookie on the session views
    await send('/authentication/login', { credentials: 'include' });
  }
  const token = cookie('csrftoken') ?? cachedToken;
  if (!token) throw new Error('The server sent no CSRF token.');
  return token;
}

function forget(): void {
  cachedToken = null;
}

/** A request with the session cookie, and the CSRF token when it is unsafe. */
export async function sessionFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const method = (init.method ?? 'GET').toUpperCase();
  const headers = new Headers(init.headers);
  if (!['GET', 'HEAD', 'OPTIONS'].includes(method)) headers.set('X-CSRFToken', await csrfToken());
  return send(path, { ...init, headers, credentials: 'include' });
}

/**
 * The session views answer 200 with `{"error": "..."}`; success is a text that
 * starts with "None". Anything else is the message to show.
 */
async function sessionView(path: string, data: unknown): Promise<void> {
  const response = await sessionFetch(path, json('POST', data));
  const body = await bodyOf(response);
  forget();
  const text = (body as { error?: unknown } | null)?.error;
  if (response.ok && typeof text === 'string' && text.startsWith('None')) return;
  const message = typeof text === 'string' ? text : describe(body, response.status);
  throw new ApiError(response.status, body, message);
}

export function login(username: string, password: string): Promise<void> {
  return sessionView('/authentication/login', { username, password });
}

export function register(username: string, password: string, confirmPassword: string): Promise<void> {
  return sessionView('/authentication/register', {
    username,
    password,
    confirm_password: confirmPassword,
  });
}

export function logout(): Promise<void> {
  return sessionView('/authentication/logout', {});
}
