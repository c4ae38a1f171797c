// The JSON API from the browser: bearer token in localStorage, errors as
// ApiError with the server's message (which is Chinese first, then English).

const TOKEN = 'wangge.token';
const USER = 'wangge.user';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.field = e.field || '';
    this.body = body;
  }
}

export function token() { return localStorage.getItem(TOKEN) || ''; }

export function currentUser() {
  try { return JSON.parse(localStorage.getItem(USER) || 'null'); } catch { return null; }
}

export function clearSession() {
  localStorage.removeItem(TOKEN);
  localStorage.removeItem(USER);
}

// fetch() with the token; JSON in and out. `opts.raw` sends a Blob/ArrayBuffer
// body with `opts.type`; `opts.blob` returns a Blob instead of JSON.
export async function api(path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  const t = token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let body;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = opts.type || 'application/octet-stream';
  } else if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, { method: opts.method || (body ? 'POST' : 'GET'), headers, body });
  if (opts.blob && res.ok) return res.blob();
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    if (res.status === 401 && !path.endsWith('/login')) {
      clearSession();
      window.dispatchEvent(new CustomEvent('wangge-logout'));
    }
    throw new ApiError(res.status, data);
  }
  return data;
}

export async function login(username, password) {
  const r = await api('/api/v1/login', { json: { username, password } });
  localStorage.setItem(TOKEN, r.token);
  localStorage.setItem(USER, JSON.stringify(r.user));
  return r.user;
}

export async function logout() {
  try { await api('/api/v1/logout', { method: 'POST' }); } catch { /* offline or expired */ }
  clearSession();
}

// True when the server does not have the endpoint (yet): the API router's
// "no such endpoint" 404, or 405/501.
export function missing(err) {
  if (!(err instanceof ApiError)) return false;
  if (err.status === 405 || err.status === 501) return true;
  return err.status === 404 && /no such endpoint/.test(err.message);
}
