// JWT logins (seeds 000 and 002): the pair is kept in localStorage, every request
// carries `Authorization: Bearer`, and an expired access token is refreshed once,
// however many requests saw the 401 together, then the requests are sent again.
import { ApiError, expectOk, json, send } from './api';

export interface Tokens {
  access: string;
  refresh: string;
  username: string;
}

/** The login ended (refresh refused): the page should send the user to log in. */
export class LoggedOut extends Error {
  constructor() {
    super('Your login has ended. Please log in again.');
  }
}

export class JwtClient {
  private tokens: Tokens | null;
  private refreshing: Promise<void> | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly storageKey: string,
    private readonly refreshPath: string,
  ) {
    this.tokens = load(storageKey);
  }

  get username(): string | null {
    return this.tokens?.username ?? null;
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  /** Called whenever the login starts or ends. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Keeps a pair from a login or sign-up answer. */
  start(username: string, pair: { access: string; refresh: string }): void {
    this.save({ username, access: pair.access, refresh: pair.refresh });
  }

  end(): void {
    this.save(null);
  }

  /** The refresh token, to blacklist at logout. */
  get refreshToken(): string | null {
    return this.tokens?.refresh ?? null;
  }

  /** A request with the access token; one refresh and one retry on a 401. */
  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const sent = this.tokens?.access;
    if (!sent) throw new LoggedOut();
    const response = await send(path, withBearer(init, sent));
    if (response.status !== 401) return response;
    await this.refreshAfter(sent);
    const access = this.tokens?.access;
    if (!access) throw new LoggedOut();
    const again = await send(path, withBearer(init, access));
    if (again.status === 401) {
      this.end();
      throw new LoggedOut();
    }
    return again;
  }

  /** `fetch`, then the JSON body of a 2xx answer. */
  async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    return expectOk<T>(await this.fetch(path, init));
  }

  /**
   * A new access token, unless another request already got one since `sent` was
   * used: several requests that fail together share one refresh.
   */
  private refreshAfter(sent: string): Promise<void> {
    if (this.tokens && this.tokens.access !== sent) return Promise.resolve();
    if (!this.refreshing) {
      this.refreshing = this.refresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async refresh(): Promise<void> {
    const tokens = this.tokens;
    if (!tokens) throw new LoggedOut();
    const response = await send(this.refreshPath, json('POST', { refresh: tokens.refresh }));
    if (response.status === 401 || response.status === 400) {
      this.end();
      throw new LoggedOut();
    }
    const pair = await expectOk<{ access: string; refresh?: string }>(response);
    this.save({ ...tokens, access: pair.access, refresh: pair.refresh ?? tokens.refresh });
  }

  private save(tokens: Tokens | null): void {
    this.tokens = tokens;
    if (tokens) localStorage.setItem(this.storageKey, JSON.stringify(tokens));
    else localStorage.removeItem(this.storageKey);
    for (const listener of this.listeners) listener();
  }
}

function withBearer(init: RequestInit, access: string): RequestInit {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${access}`);
  // never the session cookie: these pages prove who they are with the token only
  return { ...init, headers, credentials: 'omit' };
}

function load(key: string): Tokens | null {
  try {
    const stored = JSON.parse(localStorage.getItem(key) ?? 'null');
    if (stored && typeof stored.access === 'string' && typeof stored.refresh === 'string') {
      return stored as Tokens;
    }
  } catch {
    // a damaged entry is no login
  }
  return null;
}

export function isLoggedOut(error: unknown): boolean {
  return error instanceof LoggedOut || (error instanceof ApiError && error.status === 401);
}

// seed 000's routes and seed 002's
export const chatAuth = new JwtClient('hearth.chat', '/api/auth/token/refresh/');
export const blogAuth = new JwtClient('hearth.blog', '/api/token/refresh/');
