// Shared helpers for the integration suites: start a real build/sfu on
// loopback with its own ports and data directory, talk to its REST API, and
// stop it again. Node >= 18.19, built-in modules only.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SFU_BIN = process.env.SFU_BIN
  ? path.resolve(process.env.SFU_BIN)
  : path.resolve(REPO_ROOT, 'build', 'sfu');
export const HOST = '127.0.0.1';

// Every child still running when this process exits is killed, so a failed
// assertion can never leave a server behind.
const live = new Set();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Rejects with a clear message when p has not settled within ms.
export function withTimeout(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// A TCP port that was free on 127.0.0.1 a moment ago.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// true when UDP port is free on 127.0.0.1.
export function udpPortFree(port) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, HOST, () => sock.close(() => resolve(true)));
  });
}

// A free UDP port below the kernel's ephemeral range, for --rtc-port with one
// worker (worker 0 binds exactly that port).
export async function freeUdpPort() {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + crypto.randomInt(0, 12000);
    if (await udpPortFree(port)) return port;
  }
  throw new Error('no free UDP port found');
}

export function makeTempDir(prefix = 'sfu-it-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    /* best effort */
  }
}

// Environment for a child: ours without any SFU_* variable (so a developer's
// shell cannot change what a test means), plus extra.
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('SFU_')) env[k] = v;
  }
  return { ...env, ...extra };
}

// Runs the binary to completion (for --help, --version and start-up errors).
// A process still running after timeoutMs is killed; timedOut says so.
export function runOnce(args, opts = {}) {
  return runTool(SFU_BIN, args, opts);
}

// Runs bin to completion, as runOnce (the bench scripts, the load generator).
export function runTool(bin, args, { env = {}, timeoutMs = 5000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(bin, args, {
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd,
    });
    live.add(proc);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, timeoutMs);
    proc.on('error', (err) => {
      clearTimeout(timer);
      live.delete(proc);
      reject(err);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(proc);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

// Non-empty lines of a captured stream.
export function lines(text) {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/**
 * Starts build/sfu on a free TCP port (--listen) and a free UDP port
 * (--rtc-port, --workers 1) with a fresh data directory unless dataDir is
 * given, and waits until GET /api/health answers 200 (10 s at most).
 * stop() sends SIGTERM (SIGKILL after 5 s) and resolves with the exit code
 * (null when a signal ended it); a data directory created here is removed then.
 */
// A self-signed P-256 certificate and key for CN, as PEM files in dir.
export function makeCert(dir, cn) {
  const cert = path.join(dir, `${cn}.crt`);
  const key = path.join(dir, `${cn}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`,
    '-days', '2', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

// GET /api/health over TLS (any certificate): the status, or an error code.
function tlsHealth(port) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: HOST, port, rejectUnauthorized: false }, () =>
      s.write('GET /api/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    let data = '';
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('error', (e) => resolve(e.code ?? e.message));
    s.on('close', () => resolve(rawStatus(data) ?? 'no answer'));
    s.setTimeout(1000, () => s.destroy());
  });
}

/**
 * Starts build/sfu on loopback. tls: {cert, key} serves HTTPS (url is then
 * https://; api() speaks plain HTTP only).
 */
export async function startServer({ dataDir, env = {}, args = [], port, rtcPort, tls: tlsFiles } = {}) {
  const ownsDir = !dataDir;
  const dir = dataDir ?? makeTempDir();
  const tcp = port ?? (await freePort());
  const udp = rtcPort ?? (await freeUdpPort());
  const argv = [
    '--listen', `${HOST}:${tcp}`,
    '--rtc-port', String(udp),
    '--workers', '1',
    '--data', dir,
    // Generous abuse limits unless a test sets its own (later flags win).
    '--limit-auth', '100000', '--limit-api', '100000',
    '--limit-ws', '100000', '--limit-upload', '100000',
    ...(tlsFiles ? ['--tls-cert', tlsFiles.cert, '--tls-key', tlsFiles.key] : []),
    ...args,
  ];
  const proc = spawn(SFU_BIN, argv, { env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(proc);
  let err = '';
  let out = '';
  proc.stderr.on('data', (d) => {
    if (err.length < 1 << 20) err += d;
  });
  proc.stdout.on('data', (d) => {
    if (out.length < 1 << 20) out += d;
  });
  let exited = null; // {code, signal} once gone
  const exitPromise = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      exited = { code, signal };
      live.delete(proc);
      resolve(exited);
    });
    proc.on('error', (e) => {
      err += `\nspawn error: ${e.message}`;
      exited = exited ?? { code: null, signal: null, error: e };
      live.delete(proc);
      resolve(exited);
    });
  });

  let stopped = null;
  const server = {
    url: `${tlsFiles ? 'https' : 'http'}://${HOST}:${tcp}`,
    port: tcp,
    rtcPort: udp,
    dataDir: dir,
    proc,
    stderr: () => err,
    stdout: () => out,
    exited: () => exited,
    stop() {
      if (stopped) return stopped;
      stopped = (async () => {
        if (!exited) {
          proc.kill('SIGTERM');
          const killer = setTimeout(() => proc.kill('SIGKILL'), 5000);
          await exitPromise;
          clearTimeout(killer);
        }
        if (ownsDir) removeDir(dir);
        return exited.code;
      })();
      return stopped;
    },
  };

  const deadline = Date.now() + 10000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (exited) break;
    if (tlsFiles) {
      last = await tlsHealth(tcp);
      if (last === 200) return server;
    } else {
      try {
        const res = await fetch(`${server.url}/api/health`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 200) return server;
        last = `status ${res.status}`;
      } catch (e) {
        last = e.cause?.code ?? e.message;
      }
    }
    await sleep(50);
  }
  const how = exited ? `exited (code ${exited.code}, signal ${exited.signal})` : `not healthy after 10 s (${last})`;
  await server.stop();
  throw new Error(`sfu ${argv.join(' ')} ${how}; stderr:\n${err}`);
}

/**
 * One API request. body is sent as JSON; rawBody (string or Buffer) as is.
 * Returns {status, json (null when the body is not JSON), text, headers}.
 */
export async function api(server, method, urlPath, { token, body, rawBody, headers = {}, timeoutMs = 10000 } = {}) {
  const h = { ...headers };
  let payload;
  if (rawBody !== undefined) {
    payload = rawBody;
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  let res;
  let text;
  try {
    res = await fetch(server.url + urlPath, {
      method,
      headers: h,
      body: payload,
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
  } catch (e) {
    const why = e.cause?.code ?? e.cause?.message ?? e.message;
    const size = payload === undefined ? 0 : Buffer.byteLength(payload);
    throw new Error(`${method} ${urlPath} (${size}-byte body) got no HTTP answer: ${why}`, { cause: e });
  }
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, json, text, headers: res.headers };
}

// Asserts an error answer: status, {"error":{"code","message"[,"field"]}}.
export function assertError(res, status, code, field) {
  const ctx = `${status} ${code}${field ? ` (${field})` : ''} expected, got ${res.status}: ${res.text}`;
  assert.equal(res.status, status, ctx);
  assert.ok(res.json && typeof res.json === 'object' && res.json.error, `error body expected: ${ctx}`);
  assert.equal(res.json.error.code, code, ctx);
  assert.equal(typeof res.json.error.message, 'string', ctx);
  assert.ok(res.json.error.message.length > 0, `empty error message: ${ctx}`);
  if (field !== undefined) assert.equal(res.json.error.field, field, ctx);
}

let seq = 0;
export function uniqueName(prefix = 'u') {
  seq += 1;
  return `${prefix}${seq}_${crypto.randomBytes(4).toString('hex')}`;
}

export const PASSWORD = 'correct horse battery';

// Credentials that do not collide with any other call.
export function newCredentials(overrides = {}) {
  const username = uniqueName('user');
  return { email: `${username}@example.com`, username, password: PASSWORD, ...overrides };
}

/**
 * Registers a fresh user (asserting 201) and returns
 * {user, accessToken, refreshToken, expiresIn, email, username, password}.
 */
export async function register(server, overrides = {}) {
  const creds = newCredentials(overrides);
  const res = await api(server, 'POST', '/api/auth/register', { body: creds });
  assert.equal(res.status, 201, `register ${creds.username}: ${res.status} ${res.text}`);
  return { ...creds, ...res.json };
}

export async function login(server, email, password = PASSWORD) {
  const res = await api(server, 'POST', '/api/auth/login', { body: { email, password } });
  assert.equal(res.status, 200, `login ${email}: ${res.status} ${res.text}`);
  return res.json;
}

export async function createRoom(server, token, body = { name: 'Room' }) {
  const res = await api(server, 'POST', '/api/rooms', { token, body });
  assert.equal(res.status, 201, `create room: ${res.status} ${res.text}`);
  return res.json.room;
}

export async function postMessage(server, token, roomId, content) {
  const res = await api(server, 'POST', `/api/rooms/${roomId}/messages`, { token, body: { content } });
  assert.equal(res.status, 201, `post message: ${res.status} ${res.text}`);
  return res.json.message;
}

// ---- JWT (HS256) ----
export function b64url(data) {
  return Buffer.from(data).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

export function b64urlDecode(s) {
  return Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export function decodeJwt(token) {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `a JWT has three parts: ${token}`);
  return {
    header: JSON.parse(b64urlDecode(parts[0]).toString('utf8')),
    payload: JSON.parse(b64urlDecode(parts[1]).toString('utf8')),
    signature: parts[2],
  };
}

export function signJwt(payload, key, header = { alg: 'HS256', typ: 'JWT' }) {
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = b64url(crypto.createHmac('sha256', key).update(input).digest());
  return `${input}.${sig}`;
}

export function readSecret(server) {
  return fs.readFileSync(path.join(server.dataDir, 'jwt.secret'));
}

// ---- formats ----
export const ROOM_CODE_RE = /^[a-z]{4}-[a-z]{4}-[a-z]{4}$/;
export const ISO_MS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;

export function assertIsoUtc(value, what = 'timestamp') {
  assert.equal(typeof value, 'string', `${what} is a string: ${value}`);
  assert.match(value, ISO_RE, `${what} is ISO 8601 UTC`);
  assert.ok(!Number.isNaN(Date.parse(value)), `${what} parses: ${value}`);
}

export function assertUser(user, expected = {}) {
  assert.ok(user && typeof user === 'object', 'user object');
  assert.ok(Number.isInteger(user.id) && user.id > 0, `user.id is a positive integer: ${user.id}`);
  assert.equal(typeof user.email, 'string');
  assert.equal(typeof user.username, 'string');
  assertIsoUtc(user.createdAt, 'user.createdAt');
  for (const k of Object.keys(user)) {
    assert.ok(!/pass|hash|secret/i.test(k), `user object must not expose ${k}`);
  }
  for (const [k, v] of Object.entries(expected)) assert.equal(user[k], v, `user.${k}`);
}

// Asserts a register/login/refresh answer.
export function assertAuthBody(json, expectedUser = {}) {
  assert.ok(json && typeof json === 'object', 'auth body');
  assertUser(json.user, expectedUser);
  assert.equal(typeof json.accessToken, 'string');
  assert.equal(typeof json.refreshToken, 'string');
  assert.ok(json.refreshToken.length >= 16, 'refresh token has some entropy');
  assert.notEqual(json.accessToken, json.refreshToken);
  assert.equal(json.expiresIn, 900);
  const { header, payload } = decodeJwt(json.accessToken);
  assert.equal(header.alg, 'HS256');
  assert.equal(payload.sub, String(json.user.id), 'sub is the user id as a string');
  assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.exp), 'iat and exp are integers');
  assert.equal(payload.exp - payload.iat, 900, 'access tokens live 15 minutes');
  assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 120, 'iat is now');
  assert.equal(typeof payload.jti, 'string');
  assert.ok(payload.jti.length > 0);
}

export function assertRoom(room, expected = {}) {
  assert.ok(room && typeof room === 'object', 'room object');
  assert.ok(Number.isInteger(room.id) && room.id > 0, `room.id is a positive integer: ${room.id}`);
  assert.match(room.code, ROOM_CODE_RE);
  assert.equal(typeof room.name, 'string');
  assert.equal(typeof room.private, 'boolean');
  assert.ok(Number.isInteger(room.hostId), 'room.hostId');
  assert.ok(Number.isInteger(room.memberCount), 'room.memberCount');
  assertIsoUtc(room.createdAt, 'room.createdAt');
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(room[k], v, `room.${k}`);
}

// ---- raw sockets ----
/**
 * Opens a TCP (or, with tls, TLS) connection, writes each chunk (a string or Buffer; a number
 * means "wait that many ms"), optionally half-closes, and collects whatever
 * comes back until the peer closes or timeoutMs passes. Never rejects.
 */
export function rawExchange(port, chunks, { timeoutMs = 3000, end = true, destroyAfterWrite = false, tls: overTls = false } = {}) {
  return new Promise((resolve) => {
    const sock = overTls
      ? tls.connect({ host: HOST, port, rejectUnauthorized: false })
      : net.connect({ host: HOST, port });
    const got = [];
    let error = null;
    let done = false;
    const finish = (how) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(got).toString('latin1'), how, error });
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    sock.on('data', (d) => got.push(d));
    sock.on('error', (e) => {
      error = e.code ?? e.message;
      finish('error');
    });
    sock.on('close', () => finish('closed'));
    sock.on(overTls ? 'secureConnect' : 'connect', async () => {
      for (const c of chunks) {
        if (done) return;
        if (typeof c === 'number') await sleep(c);
        else sock.write(c, () => {});
      }
      if (destroyAfterWrite) finish('destroyed');
      else if (end) sock.end();
    });
  });
}

// Status code of the first response in a raw HTTP answer, or null.
export function rawStatus(data) {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(data);
  return m ? Number(m[1]) : null;
}

// ---- Prometheus text format ----
// Returns [{name, labels, value}] for every sample line.
export function parseMetrics(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line.trim());
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l;
      while ((l = re.exec(m[3]))) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return samples;
}

export async function getMetrics(server) {
  const res = await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(10000) });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), text, samples: parseMetrics(text) };
}

// Sum of the samples named name whose labels include all of want.
export function metricValue(samples, name, want = {}) {
  let sum = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name) continue;
    if (Object.entries(want).every(([k, v]) => s.labels[k] === v)) {
      sum += s.value;
      found = true;
    }
  }
  return found ? sum : 0;
}
