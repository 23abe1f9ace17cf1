// The backend's address: VITE_API_URL, or this page's own origin when empty.
export const API_URL = (import.meta.env.VITE_API_URL ?? '').replace(/\/+$/, '');

export function apiUrl(path: string): string {
  return `${API_URL}${path}`;
}

/** A request that got an answer the page has to show. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown, message: string) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The server could not be reached at all. */
export class Unreachable extends Error {
  constructor() {
    super(`Cannot reach the server${API_URL ? ` at ${API_URL}` : ''}. Is it running?`);
  }
}

/** fetch, with a network failure turned into `Unreachable`. */
export async function send(path: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(apiUrl(path), init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new Unreachable();
  }
}

export async function bodyOf(response: Response): Promise<unknown> {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * What a person should read about a failed answer: DRF's `detail`, the session
 * views' `error`, field messages (`{"username": ["..."]}`), or plain text.
 */
export function describe(body: unknown, status: number): string {
  if (typeof body === 'string' && body.trim()) return body.trim();
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    for (const key of ['detail', 'error', 'message']) {
      if (typeof record[key] === 'string') return record[key] as string;
    }
    const parts: string[] = [];
    for (const [field, messages] of Object.entries(record)) {
      const list = Array.isArray(messages) ? messages : [messages];
      const text = list.filter((m) => typeof m === 'string').join(' ');
      if (text) parts.push(field === 'non_field_errors' ? text : `${field}: ${text}`);
    }
    if (parts.length) return parts.join(' ');
  }
  return `The server answered ${status}.`;
}

/** The JSON body of a 2xx answer, or an `ApiError` with the server's words. */
export async function expectOk<T>(response: Response): Promise<T> {
  const body = await bodyOf(response);
  if (!response.ok) throw new ApiError(response.status, body, describe(body, response.status));
  return body as T;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function json(method: string, data: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method,
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(data),
  };
}
