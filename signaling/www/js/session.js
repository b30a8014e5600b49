// Tokens and REST. The session lives in localStorage so it survives reloads
// and new tabs; refreshes are serialised across tabs (Web Locks), and each
// tab rereads the stored refresh token first, so rotation never presents an
// already-rotated token (which would revoke the whole family).
import { emit } from './util.js';

const KEY = 'sfu.session';

export const session = { token: null, refresh: null, user: null };

function load() {
  // Older pages and automation put the tokens in sessionStorage: adopt them.
  const legacy = sessionStorage.getItem('accessToken');
  if (legacy) {
    const user = JSON.parse(sessionStorage.getItem('user') || 'null');
    store({ accessToken: legacy, refreshToken: sessionStorage.getItem('refreshToken'), user });
    sessionStorage.removeItem('accessToken');
    sessionStorage.removeItem('refreshToken');
    sessionStorage.removeItem('user');
    return;
  }
  const s = JSON.parse(localStorage.getItem(KEY) || 'null');
  session.token = s?.accessToken || null;
  session.refresh = s?.refreshToken || null;
  session.user = s?.user || null;
}

export function store(s) {
  session.token = s.accessToken;
  session.refresh = s.refreshToken;
  session.user = s.user;
  localStorage.setItem(KEY, JSON.stringify({ accessToken: s.accessToken, refreshToken: s.refreshToken, user: s.user }));
}

export function clear() {
  session.token = session.refresh = session.user = null;
  localStorage.removeItem(KEY);
}

load();
// Another tab signed in, out, or refreshed.
window.addEventListener('storage', (e) => {
  if (e.key !== KEY) return;
  const had = session.user?.id;
  load();
  if (!session.user && had) emit('signed-out');
});

export const signedIn = () => Boolean(session.token && session.user);

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code;
    this.field = body?.error?.field;
  }
}

let refreshing = null;
export function refreshTokens() {
  refreshing ??= (async () => {
    const run = async () => {
      const before = session.token;
      load(); // another tab may have refreshed already
      if (session.token && session.token !== before) return true;
      if (!session.refresh) return false;
      const res = await fetch('/api/auth/refresh', {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: session.refresh }),
      });
      if (!res.ok) return false;
      store(await res.json());
      return true;
    };
    try {
      const ok = navigator.locks ? await navigator.locks.request('sfu-refresh', run) : await run();
      if (!ok) {
        clear();
        emit('signed-out');
      } else emit('token', session.token);
      return ok;
    } catch {
      return false;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

async function send(method, path, body, retry = true) {
  const headers = {};
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (session.token) headers.authorization = `Bearer ${session.token}`;
  const res = await fetch(path, { method, headers, body: payload });
  if (res.status === 401 && retry && session.refresh && !path.startsWith('/api/auth/')) {
    if (await refreshTokens()) return send(method, path, body, false);
  }
  return res;
}

export async function api(method, path, body) {
  const res = await send(method, path, body);
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export const upload = (file) => {
  const fd = new FormData();
  fd.append('file', file, file.name || 'file');
  return api('POST', '/api/upload', fd);
};

// A file as {type, dataUrl} (images: CSP allows data: images, not blob:) or
// {type, blob}. Cached per id.
const files = new Map();
export function fetchFile(id) {
  if (!files.has(id)) {
    files.set(id, (async () => {
      const res = await send('GET', `/api/files/${encodeURIComponent(id)}`);
      if (!res.ok) throw new ApiError(res.status, null);
      const blob = await res.blob();
      const type = res.headers.get('content-type') || blob.type;
      if (!type.startsWith('image/')) return { type, blob };
      const dataUrl = await new Promise((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(r.result);
        r.onerror = () => reject(r.error);
        r.readAsDataURL(blob);
      });
      return { type, blob, dataUrl };
    })().catch((e) => {
      files.delete(id);
      throw e;
    }));
  }
  return files.get(id);
}

// Seconds until the access token expires (from its exp claim).
export function tokenTtl() {
  try {
    const p = JSON.parse(atob(session.token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return p.exp - Date.now() / 1000;
  } catch {
    return 0;
  }
}
