// Hardening (issue 17): what an attacker or a long-running node must not be
// able to do: buffer bodies without a token, grow the WAL without bound,
// stay in a call after leaving its room, pin the CPU with logins against one
// account, or hold memory with sockets that never read.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';

import { HOST, SFU_BIN, api, assertError, createRoom, getMetrics, metricValue, rawExchange, rawStatus, register, sleep, withTimeout } from './lib.mjs';
import { SAMPLE_FILES, closeAll, connect, joinRoom, startChatServer, upload, withChatServer } from './ws-lib.mjs';

const T = { timeout: 30000 };
const MAX_UPLOAD = 5 * 1024 * 1024;

/**
 * A raw HTTP client that sends head (and then some of the body) and keeps the
 * connection open without sending the rest. got() is what came back so far;
 * closed resolves once the node closed the connection.
 */
function slowRequest(port, head, firstBodyBytes) {
  const sock = net.connect({ host: HOST, port });
  const chunks = [];
  sock.on('data', (d) => chunks.push(d));
  sock.on('error', () => {});
  const closed = new Promise((resolve) => sock.on('close', resolve));
  sock.on('connect', () => {
    sock.write(head);
    if (firstBodyBytes) sock.write(Buffer.alloc(firstBodyBytes, 0x41));
  });
  return {
    got: () => Buffer.concat(chunks).toString('latin1'),
    closed,
    destroy: () => sock.destroy(),
  };
}

function uploadHead(port, { token, contentLength }) {
  return (
    `POST /api/upload HTTP/1.1\r\nHost: ${HOST}:${port}\r\n` +
    'Content-Type: multipart/form-data; boundary=xyz\r\n' +
    (token ? `Authorization: Bearer ${token}\r\n` : '') +
    `Content-Length: ${contentLength}\r\n\r\n`
  );
}

// The first reply on a raw connection, within ms (null when none came).
async function replyWithin(req, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (/\r\n\r\n/.test(req.got())) return req.got();
    await sleep(20);
  }
  return null;
}

// ---- 1. uploads: the token and the limits come before the body ----

test('an upload without a valid token is refused 401 from its headers, before its body arrives, and closed', T, () =>
  withChatServer(async (server) => {
    for (const token of [undefined, 'not-a-jwt']) {
      // 5 MiB announced, 1 KiB sent, the rest never: the node must not wait for it.
      const req = slowRequest(server.port, uploadHead(server.port, { token, contentLength: MAX_UPLOAD }), 1024);
      try {
        const reply = await replyWithin(req, 3000);
        assert.ok(reply, `an answer within 3 s while the body is still coming (token ${token})`);
        assert.equal(rawStatus(reply), 401, reply);
        assert.match(reply, /"unauthorized"/);
        await withTimeout(req.closed, 3000, 'the node closes the connection after the 401');
      } finally {
        req.destroy();
      }
    }
    // An anonymous upload sent whole still gets its 401 (fetch reads it).
    const res = await api(server, 'POST', '/api/upload', {
      rawBody: Buffer.alloc(256 * 1024, 1),
      headers: { 'content-type': 'multipart/form-data; boundary=xyz' },
    });
    assertError(res, 401, 'unauthorized');
  }));

test('request bodies being received are bounded together: past 32 MiB a new one is 503 busy at once', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const declared = MAX_UPLOAD + 16 * 1024;
    const held = [];
    try {
      // Six announced full-size uploads (~30 MiB) are accepted and wait for their bodies.
      for (let i = 0; i < 6; i++) {
        const req = slowRequest(server.port, uploadHead(server.port, { token: a.accessToken, contentLength: declared }), 100);
        held.push(req);
      }
      await sleep(500);
      for (const req of held) assert.equal(req.got(), '', 'an admitted upload waits for its body');
      // The seventh would take the bodies in flight past 32 MiB.
      const extra = slowRequest(server.port, uploadHead(server.port, { token: a.accessToken, contentLength: declared }), 100);
      held.push(extra);
      const reply = await replyWithin(extra, 3000);
      assert.ok(reply, 'the upload over the bound is answered at once');
      assert.equal(rawStatus(reply), 503, reply);
      assert.match(reply, /"busy"/);
      assert.match(reply, /retry-after: 1/i);
      await withTimeout(extra.closed, 3000, 'the refused upload is closed');
    } finally {
      for (const req of held) req.destroy();
    }
    // Their room is given back when they go: a real upload works again.
    await sleep(300);
    const ok = await upload(server, a.accessToken, { data: SAMPLE_FILES.png.bytes, filename: 'p.png', contentType: 'image/png' });
    assert.equal(ok.status, 201, ok.text);
  }));

// ---- 2. the WAL stays bounded under sustained writes ----

// Sends messages on one socket with `window` unacknowledged at a time until
// `count` were acknowledged or stopAt; returns how many were acknowledged and
// the slowest ack in ms.
async function sendSteadily(client, roomId, content, stopAt, count, window = 16) {
  let acked = 0;
  let slowest = 0;
  const sent = new Map();
  let seq = 0;
  return new Promise((resolve, reject) => {
    const sendOne = () => {
      seq += 1;
      const id = `w${seq}`;
      sent.set(id, Date.now());
      client.ws.send(JSON.stringify({ type: 'send_message', roomId, content, id }));
    };
    client.ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (!msg.id || !sent.has(msg.id)) return;
      if (msg.type !== 'new_message') {
        reject(new Error(`send_message refused: ${JSON.stringify(msg)}`));
        return;
      }
      slowest = Math.max(slowest, Date.now() - sent.get(msg.id));
      sent.delete(msg.id);
      acked += 1;
      if (Date.now() < stopAt && acked + sent.size < count) sendOne();
      else if (sent.size === 0) resolve({ acked, slowest });
    });
    client.ws.once('close', () => reject(new Error('socket closed while sending')));
    for (let i = 0; i < window; i++) sendOne();
  });
}

function fileSize(p) {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

test('sustained writes: the WAL is checkpointed and its file stays bounded, then shrinks back', T, () =>
  withChatServer(async (server) => {
    const wal = path.join(server.dataDir, 'sfu.db-wal');
    const writers = [];
    try {
      for (let i = 0; i < 3; i++) {
        const u = await register(server);
        const res = await api(server, 'POST', '/api/rooms', { token: u.accessToken, body: { name: `busy ${i}` } });
        assert.equal(res.status, 201, res.text);
        const ws = await connect(server, u.accessToken);
        await joinRoom(ws, res.json.room.id);
        writers.push({ ws, roomId: res.json.room.id });
      }
      let peak = 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, fileSize(wal));
      }, 50);
      const content = 'x'.repeat(1500);
      const started = Date.now();
      const stopAt = started + 15000; // or fewer: until every writer sent its share
      let results;
      try {
        results = await Promise.all(writers.map((w) => sendSteadily(w.ws, w.roomId, content, stopAt, 6000)));
      } finally {
        clearInterval(sampler);
      }
      const took = Date.now() - started;
      const acked = results.reduce((n, r) => n + r.acked, 0);
      const slowest = Math.max(...results.map((r) => r.slowest));
      // Each 1.5 KB message is at least one 4 KiB page in the WAL (some 12 KiB
      // measured): without checkpoints, far past the bounds below.
      assert.ok(acked * 4096 > 32 * 1024 * 1024, `enough writes to matter: ${acked} messages`);
      // A checkpoint pass runs four times a second; the next commit after one rewinds the WAL.
      await sleep(1000);
      await postSmall(server, writers[0]);
      const end = fileSize(wal);
      console.log(`# ${acked} messages in ${took} ms, slowest ack ${slowest} ms, WAL peak ${(peak / 1048576).toFixed(1)} MiB, end ${(end / 1048576).toFixed(1)} MiB`);
      // Bounded: the 4,096-page restart threshold plus what comes in between two passes.
      assert.ok(peak < 64 * 1024 * 1024, `WAL peak ${peak} bytes stays under 64 MiB`);
      assert.ok(end <= 16 * 1024 * 1024 + 64 * 1024, `WAL cut back to journal_size_limit (16 MiB): ${end} bytes`);
    } finally {
      await closeAll(writers.map((w) => w.ws));
    }
  }));

async function postSmall(server, writer) {
  const reply = await writer.ws.request({ type: 'send_message', roomId: writer.roomId, content: 'settled' });
  assert.equal(reply.type, 'new_message', JSON.stringify(reply));
}

// ---- 3. leaving a room over REST leaves its call ----

async function callJoin(client, roomId, extra = {}) {
  const reply = await client.request({ type: 'call_join', roomId, ...extra });
  assert.equal(reply.type, 'call_joined', `call_join: ${JSON.stringify(reply)}`);
  return reply;
}

test('leaving a room over REST also leaves its call: call_left to the leaver, participant_left to the others', T, () =>
  withChatServer(async (server) => {
    const users = [];
    try {
      for (let i = 0; i < 3; i++) {
        const u = await register(server);
        users.push({ ...u, id: u.user.id, ws: await connect(server, u.accessToken) });
      }
      const [host, guest, held] = users;
      const res = await api(server, 'POST', '/api/rooms', { token: host.accessToken, body: { name: 'call room' } });
      assert.equal(res.status, 201, res.text);
      const room = res.json.room;
      for (const u of users) {
        if (u !== host) assert.equal((await api(server, 'POST', `/api/rooms/${room.id}/join`, { token: u.accessToken })).status, 200);
        await joinRoom(u.ws, room.id);
        await callJoin(u.ws, room.id);
      }
      const isLeft = (userId) => (m) => m.type === 'participant_left' && m.userId === userId;

      // An attached participant leaves the room over REST.
      assert.equal((await api(server, 'POST', `/api/rooms/${room.id}/leave`, { token: guest.accessToken })).status, 204);
      const callLeft = await guest.ws.next('call_left');
      assert.deepEqual(callLeft, { type: 'call_left', roomId: room.id, reason: 'left_room' });
      await guest.ws.next({ type: 'left_room', roomId: room.id });
      assert.equal((await host.ws.next(isLeft(guest.id))).reason, 'left_room');
      // The place is gone: the socket is in no call, and it may not join again.
      assert.equal((await guest.ws.request({ type: 'mute', roomId: room.id, kind: 'audio' })).code, 'not_in_call');
      assert.equal((await guest.ws.request({ type: 'call_join', roomId: room.id })).code, 'forbidden');

      // A place held for a resume (socket dropped without a Close frame) goes too.
      const joined = held.ws.received.find((m) => m.type === 'call_joined');
      held.ws.terminate();
      await host.ws.expectNothing(isLeft(held.id), 300);
      assert.equal((await api(server, 'POST', `/api/rooms/${room.id}/leave`, { token: held.accessToken })).status, 204);
      assert.equal((await host.ws.next(isLeft(held.id))).reason, 'left_room');
      const back = await connect(server, held.accessToken);
      users.push({ ws: back });
      assert.equal((await back.request({ type: 'call_join', roomId: room.id, resumeToken: joined.resumeToken })).code, 'forbidden');

      // The records say so.
      const calls = await api(server, 'GET', '/api/calls', { token: host.accessToken });
      const parts = Object.fromEntries(calls.json.calls[0].participants.map((p) => [p.userId, p.leftReason]));
      assert.equal(parts[guest.id], 'left_room');
      assert.equal(parts[held.id], 'left_room');
      assert.equal(parts[host.id], null);
    } finally {
      await closeAll(users.map((u) => u.ws));
    }
  }));

// ---- 4. failed logins per account ----

// POST /api/auth/login from a given loopback address (all of 127/8 is local).
function loginFrom(server, localAddress, email, password) {
  const body = JSON.stringify({ email, password });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: HOST,
        port: server.port,
        localAddress,
        method: 'POST',
        path: '/api/auth/login',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 10000,
      },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode, json, text, retryAfter: res.headers['retry-after'] });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('login timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

test('logins against one account from many addresses are throttled per account before any hash; success resets', T, async () => {
  // The per-IP limit stays: 3 auth requests per minute per address.
  const server = await startChatServer({ limits: { '--limit-auth': '3' } });
  try {
    const victim = await register(server);
    const other = await register(server);
    // 20 addresses, 3 wrong passwords each, all at once: within every address's own limit.
    const tries = [];
    for (let a = 10; a < 30; a++) {
      for (let k = 0; k < 3; k++) tries.push(loginFrom(server, `127.0.0.${a}`, victim.email, 'wrong password!'));
    }
    const answers = await Promise.all(tries);
    const failed = answers.filter((r) => r.status === 401);
    const throttled = answers.filter((r) => r.status === 429);
    assert.equal(failed.length, 5, `only the free attempts are checked: ${answers.map((r) => r.status).join(',')}`);
    assert.equal(throttled.length, 55);
    for (const r of throttled) {
      assertError({ ...r, headers: null }, 429, 'login_throttled');
      assert.ok(Number.isInteger(r.json.error.retryAfter) && r.json.error.retryAfter > 0, r.text);
      assert.ok(Number(r.retryAfter) >= 1, `Retry-After header: ${r.retryAfter}`);
    }
    // The right password is refused too while throttled: no hash is computed for it.
    const early = await loginFrom(server, '127.0.0.40', victim.email, victim.password);
    assertError({ ...early, headers: null }, 429, 'login_throttled');
    // Another account is not affected.
    assert.equal((await loginFrom(server, '127.0.0.41', other.email, other.password)).status, 200);
    // After the backoff the right password works and clears the record.
    await sleep(early.json.error.retryAfter + 100);
    const ok = await loginFrom(server, '127.0.0.42', victim.email.toUpperCase(), victim.password);
    assert.equal(ok.status, 200, ok.text);
    for (let i = 0; i < 5; i++) {
      assert.equal((await loginFrom(server, `127.0.0.${50 + i}`, victim.email, 'wrong again!')).status, 401, 'free attempts again');
    }
    assert.equal((await loginFrom(server, '127.0.0.60', victim.email, 'wrong again!')).status, 429);
    // An unknown email is throttled the same way (no hint that it does not exist).
    const ghost = 'nobody-here@example.com';
    for (let i = 0; i < 5; i++) assert.equal((await loginFrom(server, `127.0.0.${70 + i}`, ghost, 'x')).status, 401);
    assert.equal((await loginFrom(server, '127.0.0.80', ghost, 'x')).status, 429);
  } finally {
    await server.stop();
  }
});

// ---- 5. sockets that do not read ----

// Sends big room messages from `sender` (window of 16) until done() is true or
// the deadline passes; returns how many were acknowledged.
async function floodRoom(sender, roomId, done, deadlineMs) {
  const content = '€'.repeat(4000); // 12 KB of UTF-8 per message
  const stopAt = Date.now() + deadlineMs;
  let acked = 0;
  let inFlight = 0;
  let seq = 0;
  return new Promise((resolve, reject) => {
    const onMessage = (data) => {
      const msg = JSON.parse(data.toString());
      if (typeof msg.id !== 'string' || !msg.id.startsWith('f')) return;
      if (msg.type !== 'new_message') {
        cleanup();
        reject(new Error(`flood refused: ${JSON.stringify(msg)}`));
        return;
      }
      acked += 1;
      inFlight -= 1;
      pump();
    };
    const timer = setInterval(pump, 50);
    function cleanup() {
      clearInterval(timer);
      sender.ws.off('message', onMessage);
    }
    function pump() {
      if (done() || Date.now() > stopAt) {
        if (inFlight === 0) {
          cleanup();
          resolve(acked);
        }
        return;
      }
      while (inFlight < 16) {
        seq += 1;
        inFlight += 1;
        sender.ws.send(JSON.stringify({ type: 'send_message', roomId, content, id: `f${seq}` }));
      }
    }
    sender.ws.on('message', onMessage);
    pump();
  });
}

test('a socket that stops reading is closed 4008 once its outgoing queue overflows, counted in /metrics', T, () =>
  withChatServer(async (server) => {
    const clients = [];
    try {
      const sender = await register(server);
      const reader = await register(server);
      const res = await api(server, 'POST', '/api/rooms', { token: sender.accessToken, body: { name: 'flood' } });
      const room = res.json.room;
      assert.equal((await api(server, 'POST', `/api/rooms/${room.id}/join`, { token: reader.accessToken })).status, 200);
      const tx = await connect(server, sender.accessToken);
      clients.push(tx);
      await joinRoom(tx, room.id);
      // Six sockets of one user in the room, none of them reading.
      const stalled = [];
      for (let i = 0; i < 6; i++) {
        const c = await connect(server, reader.accessToken);
        await joinRoom(c, room.id);
        c.ws._socket.pause();
        stalled.push(c);
        clients.push(c);
      }
      const before = await getMetrics(server);
      assert.equal(metricValue(before.samples, 'sfu_ws_connections'), 7);
      let overflows = 0;
      let open = 7;
      const poll = setInterval(async () => {
        try {
          const m = await getMetrics(server);
          overflows = metricValue(m.samples, 'sfu_ws_queue_overflows_total');
          open = metricValue(m.samples, 'sfu_ws_connections');
        } catch {
          /* next poll */
        }
      }, 200);
      try {
        // Some 4 MiB of kernel buffers per socket first, then the node's 2 MiB queue.
        const sent = await floodRoom(tx, room.id, () => overflows >= 6, 15000);
        assert.equal(overflows, 6, `every stalled socket overflowed (after ${sent} messages of 12 KB)`);
        // Closed by the node while the clients still read nothing (within 2 s + a poll).
        const deadline = Date.now() + 5000;
        while (open > 1 && Date.now() < deadline) await sleep(100);
        assert.equal(open, 1, 'only the sender is still connected');
      } finally {
        clearInterval(poll);
      }
      // The sender was never affected.
      const reply = await tx.request({ type: 'ping' });
      assert.equal(reply.type, 'pong');
      const help = (await getMetrics(server)).text;
      assert.match(help, /^# HELP sfu_ws_queue_overflows_total \S/m);
    } finally {
      await closeAll(clients);
    }
  }));

test('a slow reader that catches up after its queue overflowed reads close 4008 with a reason', T, () =>
  withChatServer(async (server) => {
    const clients = [];
    try {
      const sender = await register(server);
      const reader = await register(server);
      const res = await api(server, 'POST', '/api/rooms', { token: sender.accessToken, body: { name: 'slow' } });
      const room = res.json.room;
      assert.equal((await api(server, 'POST', `/api/rooms/${room.id}/join`, { token: reader.accessToken })).status, 200);
      const tx = await connect(server, sender.accessToken);
      clients.push(tx);
      await joinRoom(tx, room.id);
      const slow = await connect(server, reader.accessToken);
      clients.push(slow);
      await joinRoom(slow, room.id);
      slow.ws._socket.pause();
      let overflowed = false;
      const poll = setInterval(async () => {
        try {
          overflowed = metricValue((await getMetrics(server)).samples, 'sfu_ws_queue_overflows_total') >= 1;
          if (overflowed) slow.ws._socket.resume(); // catch up at once, within the 2 s grace
        } catch {
          /* next poll */
        }
      }, 50);
      try {
        await floodRoom(tx, room.id, () => overflowed, 15000);
      } finally {
        clearInterval(poll);
      }
      assert.ok(overflowed, 'the queue overflowed');
      const closed = await slow.closed(5000);
      assert.equal(closed.code, 4008, JSON.stringify(closed));
      assert.match(closed.reason, /outgoing queue/);
    } finally {
      await closeAll(clients);
    }
  }));

// ---- 5. accounts, rooms and reports ----

test('weak passwords are refused at registration: common ones, the username, the email, one repeated character', T, () =>
  withChatServer(async (server) => {
    const name = `weak_${Date.now().toString(36)}`;
    const email = `${name}@example.test`;
    for (const password of ['password', 'Password1', '12345678', 'qwertyuiop', name, name.toUpperCase(), email, 'zzzzzzzzzz']) {
      const res = await api(server, 'POST', '/api/auth/register', { body: { email, username: name, password } });
      assertError(res, 400, 'invalid_field', 'password');
    }
    const ok = await api(server, 'POST', '/api/auth/register', { body: { email, username: name, password: 'plum quartz ladder' } });
    assert.equal(ok.status, 201, ok.text);
  }));

test('users cannot report themselves', T, () =>
  withChatServer(async (server) => {
    const me = await register(server);
    const res = await api(server, 'POST', `/api/users/${me.user.id}/report`, { token: me.accessToken, body: { reason: 'me' } });
    assertError(res, 400, 'invalid_field', 'id');
    const other = await register(server);
    const fine = await api(server, 'POST', `/api/users/${other.user.id}/report`, { token: me.accessToken, body: { reason: 'spam' } });
    assert.equal(fine.status, 201, fine.text);
  }));

test('a host who left an empty room and came back hosts it again and can end it', T, () =>
  withChatServer(async (server) => {
    const host = await register(server);
    const room = await createRoom(server, host.accessToken, { name: 'Comeback' });
    assert.equal((await api(server, 'POST', `/api/rooms/${room.id}/leave`, { token: host.accessToken })).status, 204);
    const back = await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: host.accessToken });
    assert.equal(back.status, 200, back.text);
    const members = await api(server, 'GET', `/api/rooms/${room.id}/members`, { token: host.accessToken });
    assert.deepEqual(members.json.members.map((m) => m.role), ['host'], members.text);
    // A later joiner is a plain member and cannot end it.
    const guest = await register(server);
    assert.equal((await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: guest.accessToken })).status, 200);
    assertError(await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: guest.accessToken }), 403, 'forbidden');
    const ended = await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: host.accessToken });
    assert.equal(ended.status, 204, ended.text);
  }));

test('one user hosts at most 100 live rooms: the next is refused 403 room_limit until one ends', { timeout: 60000 }, () =>
  withChatServer(async (server) => {
    const u = await register(server);
    let first = null;
    for (let i = 0; i < 100; i++) {
      const r = await createRoom(server, u.accessToken, { name: `Room ${i}` });
      first ??= r;
    }
    const refused = await api(server, 'POST', '/api/rooms', { token: u.accessToken, body: { name: 'one too many' } });
    assertError(refused, 403, 'room_limit');
    assert.equal((await api(server, 'DELETE', `/api/rooms/${first.id}`, { token: u.accessToken })).status, 204);
    const again = await api(server, 'POST', '/api/rooms', { token: u.accessToken, body: { name: 'now it fits' } });
    assert.equal(again.status, 201, again.text);
    // Someone else is not limited by it.
    const other = await register(server);
    assert.equal((await api(server, 'POST', '/api/rooms', { token: other.accessToken, body: { name: 'mine' } })).status, 201);
  }));

test("a deleted user's open socket cannot join rooms or calls: it is closed 4001", T, () =>
  withChatServer(async (server) => {
    const owner = await register(server);
    const room = await createRoom(server, owner.accessToken, { name: 'Open' });
    const gone = await register(server);
    const ws = await connect(server, gone.accessToken);
    try {
      const db = path.join(server.dataDir, 'sfu.db');
      execFileSync('sqlite3', [db, '.timeout 5000', 'PRAGMA foreign_keys = ON', `DELETE FROM users WHERE id = ${Number(gone.user.id)}`]);
      ws.send({ type: 'join_room', roomId: room.id });
      const closed = await ws.closed(5000);
      assert.equal(closed.code, 4001, JSON.stringify(closed));
      assert.match(closed.reason, /no longer exists/);
      const members = await api(server, 'GET', `/api/rooms/${room.id}/members`, { token: owner.accessToken });
      assert.deepEqual(members.json.members.map((m) => m.userId), [owner.user.id], members.text);
    } finally {
      await closeAll([ws]);
    }
  }));

// ---- 6. HTTP framing ----

test('a request with both Content-Length and Transfer-Encoding is refused 400 and closed', T, () =>
  withChatServer(async (server) => {
    const r = await rawExchange(
      server.port,
      ['POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
      { end: false },
    );
    assert.equal(rawStatus(r.data), 400, r.data);
    assert.equal(r.how, 'closed', 'the connection is closed after the 400');
  }));

// An AddressSanitizer build (make SANITIZE=1) holds freed memory in quarantine:
// there RSS says nothing, and LeakSanitizer's report at exit says it all.
const SANITIZED = /asan/.test(SFU_BIN) || /libasan/.test(fs.readFileSync(SFU_BIN).subarray(0, 1 << 20).toString('latin1'));

test('pipelined requests do not leak: 2,000 connections each sending two requests at once leave RSS within 4 MiB', { timeout: 60000 }, async () => {
  const server = await startChatServer();
  try {
    const rssKib = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))[1]);
    const pair = 'GET /api/health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/health HTTP/1.1\r\nHost: x\r\n\r\n';
    const one = () => rawExchange(server.port, [pair, 30], { timeoutMs: 1000, destroyAfterWrite: true });
    for (let i = 0; i < 200; i++) await one(); // warm-up: the allocator's pools
    const before = rssKib();
    for (let k = 0; k < 20; k++) await Promise.all(Array.from({ length: 100 }, one));
    const grown = rssKib() - before;
    if (!SANITIZED) assert.ok(grown < 4096, `RSS grew ${grown} KiB over 2,000 pipelined connections (a request record each would be ~10 MiB)`);
    assert.equal((await api(server, 'GET', '/api/health')).status, 200);
  } finally {
    const code = await server.stop();
    assert.doesNotMatch(server.stderr(), /LeakSanitizer/, server.stderr().slice(-3000));
    assert.equal(code, 0, 'a clean exit');
  }
});
