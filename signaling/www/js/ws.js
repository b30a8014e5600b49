// The WebSocket: authenticate, match replies to requests by id, dispatch
// events as 'ws:<type>' on the bus, reconnect with backoff and re-authenticate
// before the access token expires. See docs/PROTOCOL.md.
import { session, refreshTokens, tokenTtl } from './session.js';
import { emit, on } from './util.js';

let ws = null;
let ready = null;
let nextId = 1;
const pending = new Map();
let backoff = 1000;
let reauthTimer = null;
let stopped = true;

export const connected = () => Boolean(ws && ws.readyState === WebSocket.OPEN && ready?.done);

export function connect() {
  stopped = false;
  if (ready) return ready;
  const p = new Promise((resolve, reject) => {
    if (tokenTtl() < 30) {
      refreshTokens().then((ok) => (ok ? open(resolve, reject) : reject(new Error('signed out'))));
    } else open(resolve, reject);
  });
  ready = p;
  p.then(() => (p.done = true), () => {});
  return p;
}

function open(resolve, reject) {
  const sock = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  ws = sock;
  let authed = false;
  sock.onopen = () => sock.send(JSON.stringify({ type: 'authenticate', token: session.token, id: 'auth' }));
  sock.onmessage = (e) => {
    let msg;
    try {
      msg = JSON.parse(e.data);
    } catch {
      return;
    }
    if (msg.type === 'authenticated' && !authed) {
      authed = true;
      backoff = 1000;
      scheduleReauth();
      resolve(sock);
    }
    if (msg.type === 'auth_error') reject(new Error(msg.message));
    if (msg.id !== undefined && pending.has(msg.id)) {
      const r = pending.get(msg.id);
      pending.delete(msg.id);
      clearTimeout(r.timer);
      if (msg.type === 'error') {
        const err = new Error(msg.message);
        err.code = msg.code;
        r.reject(err);
      } else r.resolve(msg);
    }
    emit(`ws:${msg.type}`, msg);
  };
  sock.onclose = (e) => {
    if (ws !== sock) return;
    ws = null;
    ready = null;
    clearTimeout(reauthTimer);
    reject(new Error(e.reason || 'connection closed'));
    for (const r of pending.values()) {
      clearTimeout(r.timer);
      r.reject(new Error('connection closed'));
    }
    pending.clear();
    emit('ws:closed', { code: e.code, reason: e.reason });
    if (stopped || !session.token) return;
    if (e.code === 4001) {
      refreshTokens().then((ok) => ok && retry());
      return;
    }
    retry();
  };
}

function retry() {
  const wait = backoff;
  backoff = Math.min(backoff * 2, 15000);
  setTimeout(async () => {
    if (stopped || ready) return;
    try {
      if (tokenTtl() < 30 && !(await refreshTokens())) return;
      await connect();
      emit('ws:reconnected');
    } catch {
      /* onclose schedules the next attempt */
    }
  }, authedOnce ? Math.min(wait, 1000) : wait);
}
let authedOnce = false;
on('ws:authenticated', () => (authedOnce = true));

// Refresh the token shortly before it expires and re-authenticate this socket.
function scheduleReauth() {
  clearTimeout(reauthTimer);
  const ms = Math.max(5, tokenTtl() - 60) * 1000;
  reauthTimer = setTimeout(async () => {
    if (tokenTtl() > 90 || (await refreshTokens())) {
      try {
        await request({ type: 'authenticate', token: session.token });
        scheduleReauth();
      } catch {
        /* the socket will close at exp and reconnect */
      }
    }
  }, ms);
}

export function request(msg, timeoutMs = 15000) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      reject(new Error('not connected'));
      return;
    }
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`no answer to ${msg.type}`));
    }, timeoutMs);
    pending.set(id, { resolve, reject, timer });
    ws.send(JSON.stringify({ ...msg, id }));
  });
}

export function send(msg) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
}

export function disconnect() {
  stopped = true;
  clearTimeout(reauthTimer);
  const s = ws;
  ws = null;
  ready = null;
  s?.close(1000);
}
