// The HTTP port at its edges: out of file descriptors, pipelined requests,
// and the request heads libwebsockets' parser cannot answer (docs/DEPLOY.md,
// "What the HTTP port does with odd requests"): each is closed quickly and
// holds nothing, and the node goes on serving everyone else.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { test } from 'node:test';
import tls from 'node:tls';

import { HOST, api, makeCert, makeTempDir, rawExchange, rawStatus, register, removeDir, sleep, startServer } from './lib.mjs';

const T = { timeout: 30000 };
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// CPU time (user + system) of a process, in seconds.
function cpuSeconds(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

const openFds = (pid) => fs.readdirSync(`/proc/${pid}/fd`).length;

// A raw connection that stays open; closed resolves with the ms it lived.
function holdConnection(port) {
  const t0 = Date.now();
  const sock = net.connect({ host: HOST, port });
  sock.on('error', () => {});
  const closed = new Promise((resolve) => sock.on('close', () => resolve(Date.now() - t0)));
  return { sock, closed };
}

// Writes head on a fresh connection (without ending it) and collects what
// comes back until the node closes it or ms pass.
function exchange(port, head, ms, { tls: overTls = false } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = overTls
      ? tls.connect({ host: HOST, port, rejectUnauthorized: false })
      : net.connect({ host: HOST, port });
    const got = [];
    let firstByteMs = null;
    const finish = (how) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(got).toString('latin1'), how, ms: Date.now() - t0, firstByteMs });
    };
    const timer = setTimeout(() => finish('open'), ms);
    sock.on('data', (d) => {
      if (firstByteMs === null) firstByteMs = Date.now() - t0;
      got.push(d);
    });
    sock.on('error', () => {});
    sock.on('close', () => finish('closed'));
    sock.on(overTls ? 'secureConnect' : 'connect', () => sock.write(head));
  });
}

// The same with the head written in pieces, 200 ms apart.
function exchangePieces(port, pieces, ms = 5000) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    const got = [];
    const finish = (how) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ data: Buffer.concat(got).toString('latin1'), how });
    };
    const timer = setTimeout(() => finish('open'), ms);
    sock.on('data', (d) => got.push(d));
    sock.on('error', () => {});
    sock.on('close', () => finish('closed'));
    sock.on('connect', async () => {
      for (const p of pieces) {
        sock.write(p);
        await sleep(200);
      }
    });
  });
}

test('at the open-file limit the node stays idle, closes what it cannot take, and serves again once fds are free', { timeout: 60000 }, async () => {
  const server = await startServer();
  const held = [];
  try {
    const pid = server.proc.pid;
    execFileSync('prlimit', ['--pid', String(pid), '--nofile=64:64']);
    // Far more connections than descriptors left: the node runs out.
    for (let i = 0; i < 120; i++) held.push(holdConnection(server.port));
    const deadline = Date.now() + 10000;
    while (openFds(pid) < 64 && Date.now() < deadline) await sleep(50);
    assert.ok(openFds(pid) >= 63, `the node reached its limit: ${openFds(pid)} fds open`);
    await sleep(500);

    const before = cpuSeconds(pid);
    const t0 = Date.now();
    await sleep(2000);
    const share = (cpuSeconds(pid) - before) / ((Date.now() - t0) / 1000);
    assert.ok(share < 0.2, `the node used ${(share * 100).toFixed(0)} % of a core while out of descriptors`);

    // What could not be served was closed, not left hanging in the backlog.
    const closedEarly = (await Promise.all(held.map((h) => Promise.race([h.closed, sleep(100).then(() => null)])))).filter((v) => v !== null);
    assert.ok(closedEarly.length > 0, 'connections beyond the limit are closed');
    const warnings = server.stderr().split('\n').filter((l) => /out of file descriptors/.test(l));
    assert.equal(warnings.length, 1, `logged once:\n${warnings.slice(0, 5).join('\n')}`);

    for (const h of held) h.sock.destroy();
    await sleep(500);
    let res = null;
    for (let i = 0; i < 20 && !(res && res.status === 200); i++) {
      try {
        res = await api(server, 'GET', '/api/health', { timeoutMs: 2000 });
      } catch {
        await sleep(250);
      }
    }
    assert.equal(res?.status, 200, 'served again');
    const user = await register(server);
    assert.equal((await api(server, 'GET', '/api/auth/me', { token: user.accessToken })).status, 200);
    assert.match(server.stderr(), /accepting connections again/);
  } finally {
    for (const h of held) h.sock.destroy();
    assert.equal(await server.stop(), 0, 'a clean exit');
  }
});

// libwebsockets 4.1 cannot keep pipelined requests apart (docs/DEPLOY.md):
// a request sent before the previous one was answered ends the connection.
// What must hold: no crash (a pipelined request behind a sign-in used to free
// the sign-in's request while its password hash was still being computed),
// no spinning, the connection closed within the keep-alive, everyone else served.
test('pipelined requests: the connection ends within seconds, the node neither crashes nor spins', { timeout: 60000 }, async () => {
  const server = await startServer();
  try {
    const pid = server.proc.pid;
    const body = JSON.stringify({ email: 'nobody@example.com', password: 'correct horse battery' });
    const login = `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const get = (p) => `GET ${p} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const cases = {
      'sign-in, then a GET': login + get('/api/health'),
      'two sign-ins': login + login,
      'a GET, then a sign-in': get('/api/health') + login,
      'three GETs': get('/api/health') + get('/api/nope') + get('/api/health'),
      'a file, then a GET': get('/index.html') + get('/api/health'),
    };
    for (const [what, payload] of Object.entries(cases)) {
      const r = await exchange(server.port, payload, 9000);
      assert.equal(r.how, 'closed', `${what}: closed by the node`);
      assert.ok(r.ms < 7000, `${what}: closed within ${r.ms} ms`);
      await sleep(300); // a sign-in's hash finishes
      assert.equal(server.exited(), null, `${what}: the node is running\n${server.stderr().slice(-2000)}`);
      const before = cpuSeconds(pid);
      await sleep(1000);
      const share = cpuSeconds(pid) - before;
      assert.ok(share < 0.2, `${what}: ${(share * 100).toFixed(0)} % of a core afterwards`);
      assert.equal((await api(server, 'GET', '/api/health', { timeoutMs: 2000 })).status, 200, what);
    }
  } finally {
    assert.equal(await server.stop(), 0, 'a clean exit');
  }
});

// The start of a request head, and odd heads both transports answer alike:
// empty lines before the request line ignored (RFC 9112 2.2), a head
// over 4 KiB answered 431, a request line over it 414 (RFC 6585 5, RFC 9110
// 15.5.15).
const H = 'GET /api/health HTTP/1.1\r\nHost: x\r\n';
const ODD_HEADS = [
  ['stray CRLF', `\r\n${H}Connection: close\r\n\r\n`, 200],
  ['three empty lines', `\r\n\n\r\n${H}Connection: close\r\n\r\n`, 200],
  ['8 KiB header', `${H}X-Big: ${'a'.repeat(8192)}\r\n\r\n`, 431],
  ['8 KiB URI', `GET /api/health?${'a'.repeat(8192)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414],
  ['500 headers', `${H}${Array.from({ length: 500 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`, 431],
];

test('odd request heads: empty lines before one are ignored, 414 and 431 answered, unfinished ones closed after 5 s; the node serves meanwhile', T, async () => {
  const server = await startServer();
  try {
    // Header names that are the start of one libwebsockets knows ("X-A" of
    // "X-Auth-Token", "Acc" of "Accept") are unknown headers like any other:
    // answered at once, and the header after them still counts.
    const { accessToken: token } = await register(server);
    for (const name of ['X-A', 'Acc', 'A']) {
      const r = await exchange(server.port, `GET /api/auth/me HTTP/1.1\r\nHost: x\r\n${name}: 1\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`, 3000);
      assert.equal(rawStatus(r.data), 200, `${name}: ${r.data.slice(0, 300)}`);
      assert.ok(r.ms < 1000, `${name}: answered within ${r.ms} ms`);
    }

    // The odd heads, and more than 64 header lines (431 on plain HTTP only);
    // each connection ends after its answer.
    for (const [what, head, status] of [
      ...ODD_HEADS,
      ['100 headers', `${H}${Array.from({ length: 100 }, (_, i) => `X-H${i}: v`).join('\r\n')}\r\n\r\n`, 431],
    ]) {
      const r = await exchange(server.port, head, 3000);
      assert.equal(rawStatus(r.data), status, `${what}: ${r.data.slice(0, 200)}`);
      assert.equal(r.how, 'closed', `${what}: closed`);
      assert.ok(r.ms < 1000, `${what}: answered within ${r.ms} ms`);
    }
    // A head that arrives in pieces is read whole.
    const pieces = await exchangePieces(server.port, [`GET /api/health HTTP/1.1\r\nHo`, `st: x\r\nConnection: cl`, `ose\r\n\r\n`]);
    assert.equal(rawStatus(pieces.data), 200, pieces.data.slice(0, 200));
    // A head that never completes ends after the 5 s head timeout.
    const slow = await exchange(server.port, `GET /api/health HTTP/1.1\r\nHost: x\r\n`, 9000);
    assert.equal(slow.how, 'closed');
    assert.ok(slow.ms >= 4000 && slow.ms < 7000, `closed after ${slow.ms} ms`);
    // A head of 3 KiB is fine.
    const ok = await exchange(server.port, `${H}X-Big: ${'a'.repeat(3000)}\r\nConnection: close\r\n\r\n`, 3000);
    assert.equal(rawStatus(ok.data), 200, ok.data.slice(0, 200));

    // None of it left a connection open.
    await sleep(200);
    const fds = fs.readdirSync(`/proc/${server.proc.pid}/fd`).map((f) => {
      try {
        return fs.readlinkSync(`/proc/${server.proc.pid}/fd/${f}`);
      } catch {
        return '';
      }
    });
    const sockets = fds.filter((l) => l.startsWith('socket:')).length;
    const baseline = await startServer();
    try {
      await api(baseline, 'GET', '/api/health');
      await sleep(200);
      const base = fs.readdirSync(`/proc/${baseline.proc.pid}/fd`).filter((f) => {
        try {
          return fs.readlinkSync(`/proc/${baseline.proc.pid}/fd/${f}`).startsWith('socket:');
        } catch {
          return false;
        }
      }).length;
      assert.ok(sockets <= base + 1, `sockets open after the odd heads: ${sockets}, a fresh node: ${base}`);
    } finally {
      await baseline.stop();
    }
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('over TLS the request head gets the same answers: empty lines ignored, 414 and 431, names that start a known one', T, async () => {
  const dir = makeTempDir('sfu-tls-head-');
  const server = await startServer({ tls: makeCert(dir, 'node') });
  try {
    for (const [what, head, status] of [
      ...ODD_HEADS,
      // The header after X-A still counts: Connection: close ends the
      // connection at once, rather than after the keep-alive.
      ['X-A', `${H}X-A: 1\r\nConnection: close\r\n\r\n`, 200],
      ['Acc', `${H}Acc: 1\r\nConnection: close\r\n\r\n`, 200],
      ['3 KiB header', `${H}X-Big: ${'a'.repeat(3000)}\r\nConnection: close\r\n\r\n`, 200],
    ]) {
      const r = await exchange(server.port, head, 3000, { tls: true });
      assert.equal(rawStatus(r.data), status, `${what}: ${r.data.slice(0, 200)}`);
      assert.equal(r.how, 'closed', `${what}: closed`);
      assert.ok(r.ms < 1000, `${what}: answered and closed within ${r.ms} ms`);
      if (status === 431) assert.match(r.data, /^HTTP\/1\.[01] 431 Request Header Fields Too Large\r\n/);
    }
    // A head that never completes ends after the 5 s head timeout.
    const slow = await exchange(server.port, H, 9000, { tls: true });
    assert.equal(slow.how, 'closed');
    assert.ok(slow.ms >= 4000 && slow.ms < 7000, `closed after ${slow.ms} ms`);
  } finally {
    assert.equal(await server.stop(), 0);
    removeDir(dir);
  }
});

// A WebSocket upgrade request for /ws.
const upgrade = (key) =>
  `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

// RFC 6455 5.1: the server closes the connection on an unmasked client frame.
test('an unmasked client WebSocket frame closes the connection with 1002 and is not read; the node stays up', T, async () => {
  const server = await startServer();
  try {
    const key = crypto.randomBytes(16).toString('base64');
    const payload = Buffer.from(JSON.stringify({ type: 'authenticate', token: 'not-a-token' }));
    const frame = Buffer.concat([Buffer.from([0x81, payload.length]), payload]); // FIN, text, no mask bit
    const r = await rawExchange(
      server.port,
      [upgrade(key), 200, frame, 500],
      { end: false, timeoutMs: 3000 },
    );
    assert.equal(rawStatus(r.data), 101, r.data.slice(0, 200));
    assert.equal(r.how, 'closed', 'the node closed the connection');
    const frames = Buffer.from(r.data.slice(r.data.indexOf('\r\n\r\n') + 4), 'latin1');
    // The node's only frame is a close with status 1002 (protocol error).
    assert.equal(frames[0], 0x88, `a close frame: ${frames.toString('hex')}`);
    assert.equal(frames.readUInt16BE(2), 1002, `status 1002: ${frames.toString('hex')}`);
    assert.doesNotMatch(r.data, /auth_error|"type"/, 'the unmasked message was not read');

    // A masked frame on a new connection is read and answered.
    const mask = crypto.randomBytes(4);
    const masked = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload.map((b, i) => b ^ mask[i % 4])]);
    const ok = await rawExchange(
      server.port,
      [upgrade(key), 200, masked, 500],
      { end: false, timeoutMs: 1500 },
    );
    assert.match(ok.data, /"type"/, `the masked message was answered: ${ok.data.slice(0, 300)}`);
    assert.equal((await api(server, 'GET', '/api/health')).status, 200);
  } finally {
    assert.equal(await server.stop(), 0);
  }
});
