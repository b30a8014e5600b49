// The WebSocket at /ws: authentication and its deadlines, token expiry while
// connected, ping/pong, malformed input (the socket stays usable; ten invalid
// messages in a row close it), per-user message rate limits and the
// heartbeat. Chat itself is in chat.test.mjs, DMs and files in social.test.mjs.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';

import { api, readSecret, register, signJwt, sleep } from './lib.mjs';
import { closeAll, connect, createRoom, tokenExpiringIn, withChatServer } from './ws-lib.mjs';

const T = { timeout: 120000 };

// Opens an unauthenticated socket, sends authenticate with token (any JSON
// value, or undefined to leave it out) and returns {reply, close}.
async function authenticateExpectingFailure(server, token) {
  const c = await connect(server);
  try {
    const msg = { type: 'authenticate' };
    if (token !== undefined) msg.token = token;
    c.send(msg);
    const reply = await c.next((m) => m.type === 'auth_error' || m.type === 'authenticated');
    const close = await c.closed(5000);
    return { reply, close, client: c };
  } finally {
    await c.close();
  }
}

function assertAuthError(result, code, what) {
  const { reply, close } = result;
  assert.equal(reply.type, 'auth_error', `${what}: ${JSON.stringify(reply)}`);
  assert.equal(reply.code, code, `${what}: ${JSON.stringify(reply)}`);
  assert.equal(typeof reply.message, 'string', what);
  assert.ok(reply.message.length > 0, what);
  assert.equal(close.code, 4001, `${what}: close code`);
}

test('authenticate: a valid token gets authenticated then unread_dms', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const c = await connect(server);
    try {
      c.send({ type: 'authenticate', token: a.accessToken, id: 'auth-1' });
      const ok = await c.next('authenticated');
      assert.deepEqual(ok, { type: 'authenticated', userId: a.user.id, username: a.username, id: 'auth-1' });
      const unread = await c.next('unread_dms');
      assert.deepEqual(unread, { type: 'unread_dms', counts: [], messages: [] });
      // unread_dms comes right after authenticated, before anything else.
      assert.deepEqual(c.received.map((m) => m.type), ['authenticated', 'unread_dms']);
      const pong = await c.request({ type: 'ping' });
      assert.equal(pong.type, 'pong');
    } finally {
      await c.close();
    }
  }));

test('authenticate: bad, missing, forged, revoked and expired tokens get auth_error and close 4001', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const key = readSecret(server);
    const now = Math.floor(Date.now() / 1000);
    const claims = (over = {}) => ({
      sub: String(a.user.id),
      iat: now - 60,
      exp: now + 600,
      jti: crypto.randomBytes(16).toString('hex'),
      ...over,
    });

    assertAuthError(await authenticateExpectingFailure(server, 'garbage'), 'unauthorized', 'garbage token');
    assertAuthError(await authenticateExpectingFailure(server, ''), 'unauthorized', 'empty token');
    assertAuthError(await authenticateExpectingFailure(server, 12345), 'invalid_field', 'numeric token');
    assertAuthError(await authenticateExpectingFailure(server, undefined), 'invalid_field', 'no token field');
    assertAuthError(await authenticateExpectingFailure(server, null), 'invalid_field', 'null token');
    assertAuthError(
      await authenticateExpectingFailure(server, signJwt(claims(), crypto.randomBytes(32))),
      'unauthorized',
      'signed with another key',
    );
    assertAuthError(
      await authenticateExpectingFailure(server, signJwt(claims({ sub: '999999' }), key)),
      'unauthorized',
      'user that does not exist',
    );
    assertAuthError(
      await authenticateExpectingFailure(server, signJwt(claims({ iat: now - 1000, exp: now - 100 }), key)),
      'token_expired',
      'expired token',
    );

    // A token revoked by logout.
    const b = await register(server);
    const out = await api(server, 'POST', '/api/auth/logout', { token: b.accessToken });
    assert.equal(out.status, 204, out.text);
    assertAuthError(await authenticateExpectingFailure(server, b.accessToken), 'unauthorized', 'revoked token');

    // Control: the same kind of hand-signed token is accepted when valid.
    const good = await connect(server, signJwt(claims(), key));
    assert.equal(good.authenticated.userId, a.user.id);
    await good.close();
  }));

test('authenticate: any other message first gets auth_error not_authenticated and close 4001', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'r' });
    for (const msg of [
      { type: 'ping' },
      { type: 'join_room', roomId: room.id },
      { type: 'send_message', roomId: room.id, content: 'sneaky' },
      { type: 'send_dm', recipientId: a.user.id, content: 'sneaky' },
    ]) {
      const c = await connect(server);
      try {
        c.send(msg);
        const reply = await c.next('auth_error');
        assert.equal(reply.code, 'not_authenticated', JSON.stringify(reply));
        assert.equal((await c.closed(5000)).code, 4001, `${msg.type} before authenticate`);
      } finally {
        await c.close();
      }
    }
    // Nothing was stored by the unauthenticated send_message.
    const h = await api(server, 'GET', `/api/rooms/${room.id}/messages`, { token: a.accessToken });
    assert.equal(h.status, 200, h.text);
    assert.deepEqual(h.json.messages, []);
  }));

test('authenticate: none within 5 s (or a late one) closes with 4001', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const t0 = Date.now();
    const silent = await connect(server);
    const noisy = await connect(server); // sends garbage, which does not count as authenticating
    const late = await connect(server); // authenticates after the deadline
    try {
      const noise = (async () => {
        for (let i = 0; i < 4; i++) {
          await sleep(1000);
          if (noisy.isOpen) noisy.sendRaw('not json');
        }
      })();
      const lateTry = (async () => {
        await sleep(5600);
        if (late.isOpen) late.send({ type: 'authenticate', token: a.accessToken });
      })();
      const [s, n, l] = await Promise.all([silent.closed(9000), noisy.closed(9000), late.closed(9000)]);
      await Promise.all([noise, lateTry]);
      const elapsed = Date.now() - t0;
      for (const [what, info] of [['silent', s], ['noisy', n], ['late', l]]) {
        assert.equal(info.code, 4001, `${what}: ${JSON.stringify(info)}`);
      }
      assert.ok(elapsed >= 4500, `closed after ${elapsed} ms, not before the 5 s deadline`);
      assert.equal(late.received.filter((m) => m.type === 'authenticated').length, 0, 'late socket never authenticated');
      // The garbage before authentication was answered, not fatal.
      assert.ok(noisy.received.filter((m) => m.type === 'error' && m.code === 'invalid_json').length >= 3, JSON.stringify(noisy.received));
    } finally {
      await closeAll([silent, noisy, late]);
    }
  }));

test('a token that expires while connected closes the socket with 4002 at its exp', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const token = tokenExpiringIn(server, a.user.id, 2);
    const exp = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).exp;
    const c = await connect(server, token);
    try {
      assert.equal(c.authenticated.userId, a.user.id);
      assert.equal((await c.request({ type: 'ping' })).type, 'pong', 'usable before expiry');
      const info = await c.closed(8000);
      const at = Date.now();
      assert.equal(info.code, 4002, JSON.stringify(info));
      assert.ok(info.reason.length > 0, 'close reason given');
      assert.ok(at >= exp * 1000 - 100, `closed at ${at}, before exp ${exp * 1000}`);
      assert.ok(at <= exp * 1000 + 2500, `closed at ${at}, long after exp ${exp * 1000}`);
    } finally {
      await c.close();
    }
  }));

test('re-authenticating with a fresh token before expiry keeps the socket open', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const short = tokenExpiringIn(server, a.user.id, 2);
    const exp = JSON.parse(Buffer.from(short.split('.')[1], 'base64url').toString()).exp;
    const c = await connect(server, short);
    try {
      const again = await c.request({ type: 'authenticate', token: a.accessToken });
      assert.equal(again.type, 'authenticated', JSON.stringify(again));
      assert.equal(again.userId, a.user.id);
      const wait = exp * 1000 + 2500 - Date.now();
      await sleep(Math.max(0, wait));
      assert.ok(c.isOpen, 'still open after the first token expired');
      assert.equal((await c.request({ type: 'ping' })).type, 'pong');
      // Re-authentication does not replay unread_dms.
      assert.equal(c.received.filter((m) => m.type === 'unread_dms').length, 1, 'only the unread_dms of the first authenticate');
    } finally {
      await c.close();
    }
  }));

test('a socket cannot switch users: another user\'s token is auth_error user_mismatch and close 4001', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const b = await register(server);
    const c = await connect(server, a.accessToken);
    try {
      c.send({ type: 'authenticate', token: b.accessToken });
      const reply = await c.next('auth_error');
      assert.equal(reply.code, 'user_mismatch', JSON.stringify(reply));
      assert.equal((await c.closed(5000)).code, 4001);
    } finally {
      await c.close();
    }
  }));

test('ping answers pong with a timestamp and echoes string and integer ids only', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const c = await connect(server, a.accessToken);
    try {
      const before = Date.now();
      c.send({ type: 'ping', id: 'abc' });
      const p1 = await c.next('pong');
      assert.equal(p1.id, 'abc');
      assert.ok(Number.isInteger(p1.ts), 'ts is an integer (ms since the epoch)');
      assert.ok(Math.abs(p1.ts - before) < 5000, `ts ${p1.ts} is about now (${before})`);
      c.send({ type: 'ping', id: 42 });
      assert.equal((await c.next('pong')).id, 42);
      c.send({ type: 'ping', id: { not: 'an id' } });
      const p3 = await c.next('pong');
      assert.equal('id' in p3, false, `an object id is not echoed: ${JSON.stringify(p3)}`);
      c.send({ type: 'ping' });
      assert.equal('id' in (await c.next('pong')), false);
    } finally {
      await c.close();
    }
  }));

test('garbage frames are answered with errors and the socket stays usable', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'r' });
    const c = await connect(server, a.accessToken);
    try {
      const expectError = async (what, code, id) => {
        const e = await c.next('error');
        assert.equal(e.code, code, `${what}: ${JSON.stringify(e)}`);
        assert.equal(typeof e.message, 'string', what);
        assert.ok(e.message.length > 0, what);
        if (id !== undefined) assert.equal(e.id, id, `${what}: id echoed`);
        const pong = await c.request({ type: 'ping' });
        assert.equal(pong.type, 'pong', `${what}: still usable`);
      };

      c.sendRaw('{"type": "ping"');
      await expectError('truncated JSON', 'invalid_json');
      c.sendRaw('hello');
      await expectError('not JSON', 'invalid_json');
      c.sendRaw('');
      await expectError('empty frame', 'invalid_json');
      c.sendRaw('{"type":"ping","type":"ping"}');
      await expectError('duplicate keys', 'invalid_json');
      c.sendRaw(Buffer.from([0x00, 0x01, 0xff, 0x7b]), { binary: true });
      await expectError('binary frame', 'binary_not_supported');
      c.sendRaw(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
      await expectError('frame over 64 KiB', 'frame_too_large');
      c.sendRaw('[1,2,3]');
      await expectError('JSON array', 'invalid_message');
      // A bare JSON scalar is refused by the parser itself (jansson decodes
      // only objects and arrays at the top level).
      c.sendRaw('"ping"');
      await expectError('JSON string', 'invalid_json');
      c.sendRaw('42');
      await expectError('JSON number', 'invalid_json');
      c.send({ type: 5, id: 'n5' });
      await expectError('numeric type', 'invalid_message', 'n5');
      c.send({ id: 'no-type' });
      await expectError('no type', 'invalid_message', 'no-type');
      c.send({ type: 'fly_to_moon', id: 'u1' });
      await expectError('unknown type', 'unknown_type', 'u1');

      // Wrong field types, per message type; each error carries the request id.
      const wrong = [
        { type: 'join_room', roomId: true },
        { type: 'join_room', roomId: -3 },
        { type: 'join_room', roomId: 'not-a-code' },
        { type: 'join_room' },
        { type: 'leave_room', roomId: 'x' },
        { type: 'send_message', roomId: String(room.id), content: 'hi' },
        { type: 'send_message', roomId: room.id, content: 42 },
        { type: 'send_message', roomId: room.id },
        { type: 'send_message', roomId: room.id, content: 'hi', fileId: 7 },
        { type: 'typing_start', roomId: [room.id] },
        { type: 'typing_stop', roomId: null },
        { type: 'send_dm', recipientId: 'bob', content: 'hi' },
        { type: 'send_dm', recipientId: a.user.id + 1000, content: { text: 'hi' } },
        { type: 'mark_read', senderId: 1.5 },
        { type: 'mark_read', senderId: a.user.id, upToId: 'all' },
      ];
      for (const msg of wrong) {
        const reply = await c.request(msg);
        assert.equal(reply.type, 'error', JSON.stringify({ msg, reply }));
        assert.equal(reply.code, 'invalid_field', JSON.stringify({ msg, reply }));
        assert.equal(typeof reply.message, 'string');
      }
      assert.equal((await c.request({ type: 'ping' })).type, 'pong');

      // A frame exactly at the limit is still parsed (65536 bytes of JSON).
      const base = JSON.stringify({ type: 'ping', id: 'big', pad: '' });
      c.sendRaw(JSON.stringify({ type: 'ping', id: 'big', pad: 'y'.repeat(64 * 1024 - base.length) }));
      const bigPong = await c.next((m) => m.id === 'big');
      assert.equal(bigPong.type, 'pong', JSON.stringify(bigPong));

      // The content of the room is unaffected.
      const h = await api(server, 'GET', `/api/rooms/${room.id}/messages`, { token: a.accessToken });
      assert.deepEqual(h.json.messages, []);
      assert.ok(c.isOpen);
    } finally {
      await c.close();
    }
  }));

test('ten invalid messages in a row close the socket with 1008; a valid one resets the count', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const c = await connect(server, a.accessToken);
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 9; i++) c.sendRaw(`bad ${round}.${i}`);
        assert.equal((await c.request({ type: 'ping' })).type, 'pong', `round ${round}: 9 bad + 1 good keeps it open`);
        assert.equal(c.buffer.filter((m) => m.type === 'error').length, 9 * (round + 1));
      }
      assert.ok(c.isOpen);
      for (let i = 0; i < 10; i++) c.sendRaw(i % 2 ? Buffer.from([i]) : `{broken ${i}`, { binary: i % 2 === 1 });
      const info = await c.closed(5000);
      assert.equal(info.code, 1008, JSON.stringify(info));
      // The ten were each answered before the close.
      assert.equal(c.received.filter((m) => m.type === 'error').length, 27 + 10);
    } finally {
      await c.close();
    }
    // An unauthenticated socket is held to the same rule.
    const u = await connect(server);
    try {
      for (let i = 0; i < 10; i++) u.sendRaw('nope');
      assert.equal((await u.closed(5000)).code, 1008);
    } finally {
      await u.close();
    }
  }));

test('WebSocket messages are rate limited per user; after retryAfter the next one is served', T, () =>
  withChatServer({ limits: { '--limit-ws': '5' } }, async (server) => {
    const a = await register(server);
    const b = await register(server);
    const a1 = await connect(server, a.accessToken);
    const a2 = await connect(server, a.accessToken);
    const b1 = await connect(server, b.accessToken);
    try {
      // 5 per second with a burst of 10: 30 at once overflow.
      const N = 30;
      for (let i = 0; i < N; i++) a1.send({ type: 'ping', id: i });
      const replies = await a1.nextN((m) => m.type === 'pong' || (m.type === 'error' && m.code === 'rate_limited'), N, 10000);
      const pongs = replies.filter((m) => m.type === 'pong');
      const limited = replies.filter((m) => m.type === 'error');
      assert.ok(pongs.length >= 10 && pongs.length <= 12, `burst of 10 served (got ${pongs.length} pongs)`);
      assert.equal(pongs.length + limited.length, N);
      for (const e of limited) {
        assert.equal(e.code, 'rate_limited');
        assert.equal(typeof e.message, 'string');
        assert.ok(Number.isInteger(e.retryAfter) && e.retryAfter > 0 && e.retryAfter <= 1000, `retryAfter in ms: ${JSON.stringify(e)}`);
      }
      // Rate-limited messages are not "invalid": twenty of them did not close the socket.
      assert.ok(a1.isOpen, 'rate limiting does not close the socket');

      // The limit is per user: a's other socket is limited too, b is not.
      a2.send({ type: 'ping', id: 'a2' });
      const a2reply = await a2.next((m) => m.type === 'pong' || m.type === 'error');
      assert.equal(a2reply.code, 'rate_limited', `same user, other socket: ${JSON.stringify(a2reply)}`);
      assert.equal((await b1.request({ type: 'ping' })).type, 'pong', 'another user is not limited');

      // Recovery.
      const wait = Math.max(a2reply.retryAfter, ...limited.map((e) => e.retryAfter));
      await sleep(wait + 50);
      const again = await a1.request({ type: 'ping' });
      assert.equal(again.type, 'pong', `after waiting ${wait} ms: ${JSON.stringify(again)}`);
    } finally {
      await closeAll([a1, a2, b1]);
    }
  }));

test('only /ws upgrades to a WebSocket', T, () =>
  withChatServer(async (server) => {
    for (const path of ['/', '/api/ws', '/wsx', '/ws/extra']) {
      await assert.rejects(connect(server, undefined, { path, timeoutMs: 3000 }), `${path} must not upgrade`);
    }
    const ok = await connect(server);
    await ok.close();
  }));

test('heartbeat: the node pings an idle socket and drops one that never answers', { timeout: 120000 }, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const polite = await connect(server, a.accessToken); // answers pings (the ws default)
    const mute = await connect(server, a.accessToken, { autoPong: false });
    const t0 = Date.now();
    try {
      const info = await mute.closed(45000);
      const droppedAfter = Date.now() - t0;
      assert.ok(droppedAfter >= 20000 && droppedAfter <= 40000, `a silent socket is dropped about 30 s in (after ${droppedAfter} ms)`);
      assert.ok(mute.pings >= 1, 'it was pinged first');
      assert.notEqual(info.code, 4001);
      // The polite one was pinged too, answered, and is still usable.
      assert.ok(polite.pings >= 1, 'the idle polite socket was pinged');
      assert.ok(polite.isOpen, 'a socket that answers pings stays open');
      assert.equal((await polite.request({ type: 'ping' })).type, 'pong');
    } finally {
      await closeAll([polite, mute]);
    }
  }));
