// WebSocket helpers for the chat suites (ws, chat, social): a client for the
// node's JSON WebSocket at /ws that buffers what it receives, so a test can
// wait for "the next message like this" without losing the others, and a
// server start-up with rate limits that the tests do not trip over by accident.
//
// Every wait here is bounded: next() and closed() reject (or resolve) after a
// timeout instead of hanging the suite.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import WebSocket from 'ws';

import { HOST, api, createRoom, readSecret, register, signJwt, sleep, startServer } from './lib.mjs';

export const DEFAULT_WAIT_MS = 5000;

// Limits far above anything a test does, so only the rate-limit tests, which
// pass their own, ever see rate_limited. The node's defaults (20 auth attempts
// per minute per IP, 20 WebSocket messages per second per user) would be hit
// by suites that register a dozen users from 127.0.0.1.
export const GENEROUS_LIMITS = {
  '--limit-auth': '100000',
  '--limit-api': '100000',
  '--limit-ws': '100000',
  '--limit-upload': '100000',
};

/**
 * startServer with generous rate limits; `limits` overrides some of them
 * (e.g. {'--limit-ws': '5'}), `args` are appended as they are.
 */
export function startChatServer({ limits = {}, args = [], ...rest } = {}) {
  const merged = { ...GENEROUS_LIMITS, ...limits };
  const limitArgs = Object.entries(merged).flatMap(([k, v]) => [k, String(v)]);
  return startServer({ ...rest, args: [...limitArgs, ...args] });
}

// Runs fn(server) against a fresh chat server and always stops it.
export async function withChatServer(opts, fn) {
  if (typeof opts === 'function') {
    fn = opts;
    opts = {};
  }
  const server = await startChatServer(opts);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

export function wsUrl(server, path = '/ws') {
  return `ws://${HOST}:${server.port}${path}`;
}

// A predicate from a function, a type name ('pong') or a partial object
// ({type: 'typing', typing: false}; nested objects match partially too).
export function matcher(pred) {
  if (typeof pred === 'function') return pred;
  if (typeof pred === 'string') return (m) => m && m.type === pred;
  if (pred && typeof pred === 'object') return (m) => partialMatch(m, pred);
  throw new TypeError(`not a predicate: ${pred}`);
}

function partialMatch(value, want) {
  if (want === null || typeof want !== 'object') return value === want;
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(want).every(([k, v]) => partialMatch(value[k], v));
}

function describe(pred) {
  if (typeof pred === 'function') return pred.name || pred.toString().slice(0, 120);
  return JSON.stringify(pred);
}

let requestSeq = 0;

/**
 * Opens a WebSocket to the node (options: timeoutMs, path = '/ws',
 * autoPong = true: answer the server's pings). With a token, authenticates and waits for
 * `authenticated` and `unread_dms` (kept as client.authenticated and
 * client.unread); an auth_error rejects. Without one, the socket is left
 * unauthenticated for the test to drive.
 *
 * The client:
 *   send(obj)                  JSON-encodes and sends obj
 *   sendRaw(data, {binary})    sends a string or Buffer as is
 *   next(pred, timeoutMs)      the next received message matching pred
 *                              (buffered ones first, oldest first); rejects
 *                              on timeout or when the socket closes first
 *   request(obj, timeoutMs)    sends obj with a fresh unique `id` and resolves
 *                              with the first message carrying that id
 *   expectNothing(pred, ms)    asserts no message matching pred arrives (or is
 *                              buffered) within ms
 *   received                   every message received, in order (never trimmed)
 *   buffer                     received messages no next() has taken yet
 *   close(code?, reason?)      closes and waits (bounded) for the close
 *   closed(timeoutMs)          resolves {code, reason} once the socket closed;
 *                              rejects if it stays open longer than timeoutMs
 */
export function connect(server, token, { timeoutMs = DEFAULT_WAIT_MS, path = '/ws', autoPong = true } = {}) {
  return new Promise((resolve, reject) => {
    const url = wsUrl(server, path);
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, autoPong });
    const client = makeClient(ws);
    let settled = false;
    const fail = (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error(`WebSocket to ${url} did not open within ${timeoutMs} ms`)), timeoutMs);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`)));
    ws.once('open', async () => {
      clearTimeout(timer);
      if (settled) return;
      if (token === undefined) {
        settled = true;
        resolve(client);
        return;
      }
      try {
        client.send({ type: 'authenticate', token });
        const first = await client.next((m) => m.type === 'authenticated' || m.type === 'auth_error', timeoutMs);
        if (first.type === 'auth_error') throw new Error(`authentication failed: ${JSON.stringify(first)}`);
        client.authenticated = first;
        client.userId = first.userId;
        client.unread = await client.next('unread_dms', timeoutMs);
        settled = true;
        resolve(client);
      } catch (e) {
        fail(e);
      }
    });
    ws.once('close', (code) => {
      if (!settled) fail(new Error(`WebSocket to ${url} closed (code ${code}) before it was ready`));
    });
    ws.once('error', (e) => fail(new Error(`WebSocket to ${url} failed: ${e.message}`)));
  });
}

function makeClient(ws) {
  const buffer = [];
  const received = [];
  const waiters = []; // {match, resolve, reject, timer, what}
  let closeInfo = null;
  const closeWaiters = [];

  ws.on('error', () => {
    /* surfaced through close; an unhandled 'error' would crash the runner */
  });
  ws.on('ping', () => {
    client.pings += 1;
  });
  ws.on('message', (data, isBinary) => {
    let msg;
    try {
      msg = JSON.parse(isBinary ? Buffer.from(data).toString('utf8') : data.toString());
    } catch {
      msg = { type: '__unparsable__', raw: data.toString() };
    }
    received.push(msg);
    const i = waiters.findIndex((w) => w.match(msg));
    if (i >= 0) {
      const [w] = waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve(msg);
    } else {
      buffer.push(msg);
    }
  });
  ws.on('close', (code, reason) => {
    closeInfo = { code, reason: reason.toString() };
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error(`socket closed (code ${code}, "${closeInfo.reason}") while waiting for ${w.what}`));
    }
    for (const c of closeWaiters.splice(0)) c(closeInfo);
  });

  const client = {
    ws,
    buffer,
    received,
    authenticated: null,
    unread: null,
    userId: null,
    pings: 0, // WebSocket ping frames received from the server
    terminate() {
      ws.terminate(); // drops the TCP connection: no Close frame
    },
    get isOpen() {
      return ws.readyState === WebSocket.OPEN;
    },
    send(obj) {
      ws.send(JSON.stringify(obj));
    },
    sendRaw(data, { binary = false } = {}) {
      ws.send(data, { binary });
    },
    next(pred, timeoutMs = DEFAULT_WAIT_MS) {
      const match = matcher(pred);
      const i = buffer.findIndex(match);
      if (i >= 0) return Promise.resolve(buffer.splice(i, 1)[0]);
      const what = describe(pred);
      if (closeInfo) {
        return Promise.reject(new Error(`socket already closed (code ${closeInfo.code}) while waiting for ${what}`));
      }
      return new Promise((resolve, reject) => {
        const w = { match, resolve, reject, what };
        w.timer = setTimeout(() => {
          const k = waiters.indexOf(w);
          if (k >= 0) waiters.splice(k, 1);
          const seen = buffer.map((m) => JSON.stringify(m).slice(0, 200)).join('\n  ');
          reject(new Error(`no message matching ${what} within ${timeoutMs} ms; unmatched buffer:\n  ${seen || '(empty)'}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    // Several messages matching pred, in arrival order.
    async nextN(pred, n, timeoutMs = DEFAULT_WAIT_MS) {
      const deadline = Date.now() + timeoutMs;
      const out = [];
      for (let k = 0; k < n; k++) out.push(await client.next(pred, Math.max(1, deadline - Date.now())));
      return out;
    },
    request(obj, timeoutMs = DEFAULT_WAIT_MS) {
      requestSeq += 1;
      const id = `req-${requestSeq}-${crypto.randomBytes(3).toString('hex')}`;
      const reply = client.next((m) => m && m.id === id, timeoutMs);
      client.send({ ...obj, id });
      return reply;
    },
    async expectNothing(pred, ms = 500, what = describe(pred)) {
      const match = matcher(pred);
      const early = buffer.find(match);
      assert.equal(early, undefined, `unexpected message (already buffered) matching ${what}: ${JSON.stringify(early)}`);
      try {
        const got = await client.next(match, ms);
        assert.fail(`unexpected message matching ${what}: ${JSON.stringify(got)}`);
      } catch (e) {
        if (e instanceof assert.AssertionError) throw e;
        /* timed out or closed: nothing arrived, as wanted */
      }
    },
    // Drops every buffered message (e.g. presence noise before a check).
    clear() {
      buffer.splice(0);
    },
    closed(timeoutMs = 10000) {
      if (closeInfo) return Promise.resolve(closeInfo);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const k = closeWaiters.indexOf(done);
          if (k >= 0) closeWaiters.splice(k, 1);
          reject(new Error(`socket still open after ${timeoutMs} ms`));
        }, timeoutMs);
        const done = (info) => {
          clearTimeout(timer);
          resolve(info);
        };
        closeWaiters.push(done);
      });
    },
    async close(code, reason) {
      if (closeInfo) return closeInfo;
      try {
        if (ws.readyState === WebSocket.CONNECTING || ws.readyState === WebSocket.OPEN) ws.close(code, reason);
        return await client.closed(3000);
      } catch {
        ws.terminate();
        return client.closed(2000).catch(() => ({ code: null, reason: 'terminated' }));
      }
    },
  };
  return client;
}

// Closes every client, never throwing (for finally blocks).
export async function closeAll(clients) {
  await Promise.all(clients.filter(Boolean).map((c) => c.close().catch(() => {})));
}

// Registers a user and opens an authenticated socket for it.
export async function userWithSocket(server) {
  const user = await register(server);
  const ws = await connect(server, user.accessToken);
  return { ...user, id: user.user.id, ws };
}

// Joins a room over the socket (roomId: id or code) and returns room_joined.
export async function joinRoom(client, roomId) {
  const reply = await client.request({ type: 'join_room', roomId });
  assert.equal(reply.type, 'room_joined', `join_room ${roomId}: ${JSON.stringify(reply)}`);
  return reply;
}

// Sends a room message and returns the acknowledged message object.
export async function sendMessage(client, roomId, content, extra = {}) {
  const reply = await client.request({ type: 'send_message', roomId, content, ...extra });
  assert.equal(reply.type, 'new_message', `send_message: ${JSON.stringify(reply)}`);
  return reply.message;
}

// Sends a direct message and returns the acknowledged message object.
export async function sendDm(client, recipientId, content, extra = {}) {
  const reply = await client.request({ type: 'send_dm', recipientId, content, ...extra });
  assert.equal(reply.type, 'new_dm', `send_dm: ${JSON.stringify(reply)}`);
  return reply.message;
}

// An access token for userId signed with the node's own secret, expiring
// expInSeconds from now (negative: already expired).
export function tokenExpiringIn(server, userId, expInSeconds) {
  const now = Math.floor(Date.now() / 1000);
  return signJwt(
    { sub: String(userId), iat: now - 10, exp: now + expInSeconds, jti: crypto.randomBytes(16).toString('hex') },
    readSecret(server),
  );
}

export { api, createRoom, register, sleep };

// ---- uploads ----

// Small but real file headers followed by some payload bytes.
export const SAMPLE_FILES = {
  png: {
    type: 'image/png',
    name: 'pixel.png',
    bytes: Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c6300010000050001' +
        '0d0a2db40000000049454e44ae426082',
      'hex',
    ),
  },
  jpeg: {
    type: 'image/jpeg',
    name: 'photo.jpg',
    bytes: Buffer.concat([Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'), crypto.randomBytes(200), Buffer.from('ffd9', 'hex')]),
  },
  gif: {
    type: 'image/gif',
    name: 'anim.gif',
    bytes: Buffer.concat([Buffer.from('GIF89a'), Buffer.from('010001008000000000ffffff21f90401000000002c00000000010001000002024401003b', 'hex')]),
  },
  pdf: {
    type: 'application/pdf',
    name: 'doc.pdf',
    bytes: Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n'),
  },
};

/**
 * A multipart/form-data body built by hand. parts: [{name, filename?,
 * contentType?, data (string|Buffer)}]. Returns {body: Buffer, contentType}.
 */
export function multipart(parts, boundary = `----sfutest${crypto.randomBytes(8).toString('hex')}`) {
  const chunks = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    head += '\r\n';
    chunks.push(Buffer.from(head, 'utf8'), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data, 'utf8'), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

// POST /api/upload with one file part (or the given parts).
export function upload(server, token, { data, filename = 'file.bin', contentType, parts, timeoutMs = 30000 } = {}) {
  const mp = multipart(parts ?? [{ name: 'file', filename, contentType, data }]);
  return api(server, 'POST', '/api/upload', {
    token,
    rawBody: mp.body,
    headers: { 'content-type': mp.contentType },
    timeoutMs,
  });
}

// Creates a room as owner and makes every other user a member over REST.
export async function roomWithMembers(server, owner, others, body = { name: 'Room' }) {
  const room = await createRoom(server, owner.accessToken, body);
  for (const u of others) {
    const res = await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: u.accessToken });
    assert.equal(res.status, 200, `join ${room.code}: ${res.status} ${res.text}`);
  }
  return room;
}
