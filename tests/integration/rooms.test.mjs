// Rooms, members and room messages over the REST API.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ISO_MS_RE,
  api,
  assertError,
  assertIsoUtc,
  assertRoom,
  createRoom,
  login,
  postMessage,
  register,
  startServer,
} from './lib.mjs';

const T = { timeout: 90000 };

async function withServer(fn) {
  const server = await startServer();
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
}

const getRoom = (s, token, idOrCode) => api(s, 'GET', `/api/rooms/${idOrCode}`, { token });
const join = (s, token, idOrCode) => api(s, 'POST', `/api/rooms/${idOrCode}/join`, { token });
const leave = (s, token, id) => api(s, 'POST', `/api/rooms/${id}/leave`, { token });
const members = (s, token, id) => api(s, 'GET', `/api/rooms/${id}/members`, { token });
const listRooms = (s, token) => api(s, 'GET', '/api/rooms', { token });
const history = (s, token, id, query = '') => api(s, 'GET', `/api/rooms/${id}/messages${query}`, { token });

test('happy path: register, login, create, join by code, members, chat, page history', T, () =>
  withServer(async (server) => {
    const alice = await register(server);
    const bob = await register(server);
    const aliceSession = await login(server, alice.email);
    const tokenA = aliceSession.accessToken;

    const me = await api(server, 'GET', '/api/auth/me', { token: tokenA });
    assert.equal(me.status, 200);
    assert.equal(me.json.user.id, alice.user.id);

    const before = Date.now();
    const created = await api(server, 'POST', '/api/rooms', { token: tokenA, body: { name: 'Standup' } });
    assert.equal(created.status, 201, created.text);
    const room = created.json.room;
    assertRoom(room, { name: 'Standup', private: false, hostId: alice.user.id, memberCount: 1 });
    assert.ok(Math.abs(Date.parse(room.createdAt) - before) < 5000, 'createdAt is now');

    // Fetch by id and by code: the same room.
    const byId = await getRoom(server, bob.accessToken, room.id);
    assert.equal(byId.status, 200, byId.text);
    assert.deepEqual(byId.json.room, room);
    const byCode = await getRoom(server, bob.accessToken, room.code);
    assert.equal(byCode.status, 200, byCode.text);
    assert.deepEqual(byCode.json.room, room);

    // Bob joins by code; joining again changes nothing.
    const joined = await join(server, bob.accessToken, room.code);
    assert.equal(joined.status, 200, joined.text);
    assertRoom(joined.json.room, { id: room.id, code: room.code, hostId: alice.user.id, memberCount: 2 });
    const again = await join(server, bob.accessToken, room.id);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.room.memberCount, 2);
    const hostJoins = await join(server, tokenA, room.id);
    assert.equal(hostJoins.status, 200, hostJoins.text);
    assert.equal(hostJoins.json.room.memberCount, 2);
    assert.equal(hostJoins.json.room.hostId, alice.user.id, 'rejoining does not demote the host');

    const m = await members(server, bob.accessToken, room.id);
    assert.equal(m.status, 200, m.text);
    assert.deepEqual(
      m.json.members.map((x) => ({ userId: x.userId, username: x.username, role: x.role })),
      [
        { userId: alice.user.id, username: alice.username, role: 'host' },
        { userId: bob.user.id, username: bob.username, role: 'member' },
      ],
    );
    for (const x of m.json.members) {
      assertIsoUtc(x.joinedAt, 'joinedAt');
      assert.ok(x.lastSeen === null || typeof x.lastSeen === 'string', `lastSeen null or string: ${x.lastSeen}`);
      if (x.lastSeen !== null) assertIsoUtc(x.lastSeen, 'lastSeen');
    }
    assert.ok(Date.parse(m.json.members[0].joinedAt) <= Date.parse(m.json.members[1].joinedAt));

    // Chat: five messages alternating senders.
    const sent = [];
    for (let i = 1; i <= 5; i++) {
      const who = i % 2 ? { token: tokenA, user: alice } : { token: bob.accessToken, user: bob };
      const t0 = Date.now();
      const res = await api(server, 'POST', `/api/rooms/${room.id}/messages`, {
        token: who.token,
        body: { content: `message ${i}` },
      });
      assert.equal(res.status, 201, res.text);
      const msg = res.json.message;
      assert.ok(Number.isInteger(msg.id) && msg.id > 0);
      assert.equal(msg.roomId, room.id);
      assert.equal(msg.senderId, who.user.user.id);
      assert.equal(msg.senderName, who.user.username);
      assert.equal(msg.content, `message ${i}`);
      assert.match(msg.createdAt, ISO_MS_RE);
      assert.ok(Math.abs(Date.parse(msg.createdAt) - t0) < 5000, `createdAt is now: ${msg.createdAt}`);
      if (sent.length) assert.ok(msg.id > sent[sent.length - 1].id, 'ids increase');
      sent.push(msg);
    }

    // Everything, newest first.
    const all = await history(server, bob.accessToken, room.id);
    assert.equal(all.status, 200, all.text);
    assert.deepEqual(all.json.messages, [...sent].reverse());
    assert.equal(all.json.hasMore, false);

    // Page through two at a time.
    const p1 = await history(server, tokenA, room.id, '?limit=2');
    assert.equal(p1.status, 200, p1.text);
    assert.deepEqual(p1.json.messages.map((x) => x.content), ['message 5', 'message 4']);
    assert.equal(p1.json.hasMore, true);
    const p2 = await history(server, tokenA, room.id, `?limit=2&before=${p1.json.messages[1].id}`);
    assert.equal(p2.status, 200, p2.text);
    assert.deepEqual(p2.json.messages.map((x) => x.content), ['message 3', 'message 2']);
    assert.equal(p2.json.hasMore, true);
    const p3 = await history(server, tokenA, room.id, `?before=${p2.json.messages[1].id}&limit=2`);
    assert.equal(p3.status, 200, p3.text);
    assert.deepEqual(p3.json.messages, [sent[0]]);
    assert.equal(p3.json.hasMore, false);
    const p4 = await history(server, tokenA, room.id, `?before=${sent[0].id}`);
    assert.equal(p4.status, 200, p4.text);
    assert.deepEqual(p4.json, { messages: [], hasMore: false });
    // Exactly the remaining count: hasMore is false.
    const exact = await history(server, tokenA, room.id, '?limit=5');
    assert.equal(exact.json.messages.length, 5);
    assert.equal(exact.json.hasMore, false);

    // Both see the room in their list.
    for (const token of [tokenA, bob.accessToken]) {
      const l = await listRooms(server, token);
      assert.equal(l.status, 200, l.text);
      assert.deepEqual(l.json.rooms.map((r) => r.id), [room.id]);
      assert.equal(l.json.rooms[0].memberCount, 2);
    }
  }));

test('room list: public and own rooms, newest first, private ones hidden from others', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const b = await register(server);
    const c = await register(server);
    const r1 = await createRoom(server, a.accessToken, { name: 'first public' });
    const r2 = await createRoom(server, a.accessToken, { name: 'a secret', private: true });
    const r3 = await createRoom(server, b.accessToken, { name: 'third public', private: false });
    assert.equal(r2.private, true);
    assert.equal(r3.private, false);
    const r4 = await createRoom(server, b.accessToken, { name: 'b secret', private: true });

    const ids = async (user) => {
      const l = await listRooms(server, user.accessToken);
      assert.equal(l.status, 200, l.text);
      for (const r of l.json.rooms) assertRoom(r);
      return l.json.rooms.map((r) => r.id);
    };
    assert.deepEqual(await ids(a), [r3.id, r2.id, r1.id]);
    assert.deepEqual(await ids(b), [r4.id, r3.id, r1.id]);
    assert.deepEqual(await ids(c), [r3.id, r1.id]);

    // c joins the private room through its code: now c sees it.
    const j = await join(server, c.accessToken, r2.code);
    assert.equal(j.status, 200, j.text);
    assert.deepEqual(await ids(c), [r3.id, r2.id, r1.id]);
  }));

test('create room validates name and private', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const cases = [
      ['name', {}],
      ['name', { name: '' }],
      ['name', { name: 'x'.repeat(101) }],
      ['name', { name: '😀'.repeat(101) }],
      ['name', { name: 42 }],
      ['name', { name: null }],
      ['name', { name: ['room'] }],
      ['private', { name: 'ok', private: 'yes' }],
      ['private', { name: 'ok', private: 1 }],
    ];
    for (const [field, body] of cases) {
      const res = await api(server, 'POST', '/api/rooms', { token: a.accessToken, body });
      assertError(res, 400, 'invalid_field', field);
    }
    // Nothing was created by the rejected requests.
    assert.deepEqual((await listRooms(server, a.accessToken)).json.rooms, []);

    // Boundaries: 1 and 100 characters, 100 emoji (code points, 400 bytes).
    const one = await createRoom(server, a.accessToken, { name: 'x' });
    assert.equal(one.name, 'x');
    const hundred = await createRoom(server, a.accessToken, { name: 'y'.repeat(100) });
    assert.equal(hundred.name, 'y'.repeat(100));
    const emoji = await createRoom(server, a.accessToken, { name: '😀'.repeat(100) });
    assert.equal(emoji.name, '😀'.repeat(100));
    assert.equal(emoji.private, false, 'private defaults to false');
    const codes = new Set([one.code, hundred.code, emoji.code]);
    assert.equal(codes.size, 3, 'codes differ');
  }));

test('private rooms: by id only for members, by code for anyone', T, () =>
  withServer(async (server) => {
    const host = await register(server);
    const guest = await register(server);
    const room = await createRoom(server, host.accessToken, { name: 'Private', private: true });
    assertRoom(room, { private: true, hostId: host.user.id, memberCount: 1 });

    assertError(await getRoom(server, guest.accessToken, room.id), 403, 'forbidden');
    assertError(await join(server, guest.accessToken, room.id), 403, 'forbidden');
    assertError(await members(server, guest.accessToken, room.id), 403, 'forbidden');
    assertError(await history(server, guest.accessToken, room.id), 403, 'forbidden');
    // The failed join did not make guest a member.
    assert.equal((await getRoom(server, host.accessToken, room.id)).json.room.memberCount, 1);

    const byCode = await getRoom(server, guest.accessToken, room.code);
    assert.equal(byCode.status, 200, byCode.text);
    assert.deepEqual(byCode.json.room, room);

    const joined = await join(server, guest.accessToken, room.code);
    assert.equal(joined.status, 200, joined.text);
    assert.equal(joined.json.room.memberCount, 2);

    // A member may use the numeric id.
    const byId = await getRoom(server, guest.accessToken, room.id);
    assert.equal(byId.status, 200, byId.text);
    assert.equal(byId.json.room.memberCount, 2);
    assert.equal((await members(server, guest.accessToken, room.id)).status, 200);

    // After leaving, the id is closed again.
    assert.equal((await leave(server, guest.accessToken, room.id)).status, 204);
    assertError(await getRoom(server, guest.accessToken, room.id), 403, 'forbidden');
  }));

test('unknown rooms and ids that are neither a number nor a code are 404', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'Real' });
    const unknownCode = room.code === 'zzzz-zzzz-zzzz' ? 'yyyy-yyyy-yyyy' : 'zzzz-zzzz-zzzz';
    const bad = [
      String(room.id + 1000),
      unknownCode,
      '0',
      '-1',
      'abc',
      '1.5',
      '1e3',
      '0x10',
      '99999999999999999999999999',
      room.code.toUpperCase(),
      `${room.code}-abcd`,
      '%20',
    ];
    for (const id of bad) {
      assertError(await getRoom(server, a.accessToken, id), 404, 'not_found');
      assertError(await join(server, a.accessToken, id), 404, 'not_found');
    }
    for (const id of [String(room.id + 1000), 'abc', '0', '-1']) {
      assertError(await members(server, a.accessToken, id), 404, 'not_found');
      assertError(await history(server, a.accessToken, id), 404, 'not_found');
      assertError(
        await api(server, 'POST', `/api/rooms/${id}/messages`, { token: a.accessToken, body: { content: 'hi' } }),
        404,
        'not_found',
      );
      assertError(await leave(server, a.accessToken, id), 404, 'not_found');
      assertError(await api(server, 'DELETE', `/api/rooms/${id}`, { token: a.accessToken }), 404, 'not_found');
    }
    // The real one is still there.
    assert.equal((await getRoom(server, a.accessToken, room.id)).status, 200);
  }));

test('room routes need a valid access token', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'Auth' });
    const calls = [
      ['GET', '/api/rooms'],
      ['POST', '/api/rooms', { name: 'x' }],
      ['GET', `/api/rooms/${room.id}`],
      ['GET', `/api/rooms/${room.code}`],
      ['POST', `/api/rooms/${room.id}/join`],
      ['POST', `/api/rooms/${room.id}/leave`],
      ['GET', `/api/rooms/${room.id}/members`],
      ['GET', `/api/rooms/${room.id}/messages`],
      ['POST', `/api/rooms/${room.id}/messages`, { content: 'x' }],
      ['DELETE', `/api/rooms/${room.id}`],
    ];
    for (const [method, path, body] of calls) {
      assertError(await api(server, method, path, { body }), 401, 'unauthorized');
      assertError(await api(server, method, path, { body, token: 'garbage' }), 401, 'unauthorized');
    }
    // None of them did anything.
    const still = await getRoom(server, a.accessToken, room.id);
    assert.equal(still.status, 200);
    assert.equal(still.json.room.memberCount, 1);
    assert.deepEqual((await history(server, a.accessToken, room.id)).json.messages, []);
    assert.equal((await listRooms(server, a.accessToken)).json.rooms.length, 1);
  }));

test('leave: 204 for members, 403 for non-members, host passes to the longest-present member', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const b = await register(server);
    const c = await register(server);
    const d = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'Handover' });
    for (const u of [b, c]) assert.equal((await join(server, u.accessToken, room.code)).status, 200);

    assertError(await leave(server, d.accessToken, room.id), 403, 'forbidden');

    // b leaves and comes back: now c has been present longer than b.
    const bl = await leave(server, b.accessToken, room.id);
    assert.equal(bl.status, 204, bl.text);
    assert.equal(bl.text, '');
    assert.equal((await getRoom(server, a.accessToken, room.id)).json.room.memberCount, 2);
    assert.deepEqual((await members(server, a.accessToken, room.id)).json.members.map((m) => m.userId), [a.user.id, c.user.id]);
    assertError(await leave(server, b.accessToken, room.id), 403, 'forbidden');
    assert.equal((await join(server, b.accessToken, room.id)).status, 200);
    assert.deepEqual(
      (await members(server, a.accessToken, room.id)).json.members.map((m) => [m.userId, m.role]),
      [[a.user.id, 'host'], [c.user.id, 'member'], [b.user.id, 'member']],
    );

    // The host leaves: c takes over (not b, whose user id is lower).
    assert.equal((await leave(server, a.accessToken, room.id)).status, 204);
    const after = await getRoom(server, b.accessToken, room.id);
    assert.equal(after.status, 200, after.text);
    assert.equal(after.json.room.hostId, c.user.id);
    assert.equal(after.json.room.memberCount, 2);
    assert.deepEqual(
      (await members(server, b.accessToken, room.id)).json.members.map((m) => [m.userId, m.role]),
      [[c.user.id, 'host'], [b.user.id, 'member']],
    );
    // The former host is no longer a member.
    assertError(await members(server, a.accessToken, room.id), 403, 'forbidden');
    // The new host can delete; the member cannot.
    assertError(await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: b.accessToken }), 403, 'forbidden');
    assert.equal((await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: c.accessToken })).status, 204);
  }));

test('delete: host only; afterwards the room is gone everywhere', T, () =>
  withServer(async (server) => {
    const host = await register(server);
    const member = await register(server);
    const outsider = await register(server);
    const room = await createRoom(server, host.accessToken, { name: 'Doomed' });
    const keep = await createRoom(server, host.accessToken, { name: 'Kept' });
    assert.equal((await join(server, member.accessToken, room.code)).status, 200);
    await postMessage(server, member.accessToken, room.id, 'last words');

    assertError(await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: member.accessToken }), 403, 'forbidden');
    assertError(await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: outsider.accessToken }), 403, 'forbidden');
    assert.equal((await getRoom(server, outsider.accessToken, room.id)).status, 200, 'still there after refused deletes');

    const del = await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: host.accessToken });
    assert.equal(del.status, 204, del.text);
    assert.equal(del.text, '');

    for (const u of [host, member, outsider]) {
      assertError(await getRoom(server, u.accessToken, room.id), 404, 'not_found');
      assertError(await getRoom(server, u.accessToken, room.code), 404, 'not_found');
      assertError(await join(server, u.accessToken, room.code), 404, 'not_found');
      const l = await listRooms(server, u.accessToken);
      assert.deepEqual(l.json.rooms.map((r) => r.id), [keep.id]);
    }
    // Deleting twice is 404.
    assertError(await api(server, 'DELETE', `/api/rooms/${room.id}`, { token: host.accessToken }), 404, 'not_found');
  }));

test('messages: members only, content rules, code-point lengths', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const outsider = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'Chat' });
    const post = (token, body) => api(server, 'POST', `/api/rooms/${room.id}/messages`, { token, body });

    assertError(await post(outsider.accessToken, { content: 'let me in' }), 403, 'forbidden');
    assertError(await history(server, outsider.accessToken, room.id), 403, 'forbidden');

    const cases = [{}, { content: '' }, { content: '   \n\t  ' }, { content: 'x'.repeat(4001) }, { content: '😀'.repeat(4001) },
      { content: 42 }, { content: null }, { content: ['hi'] }, { content: { text: 'hi' } }];
    for (const body of cases) assertError(await post(a.accessToken, body), 400, 'invalid_field', 'content');
    assert.deepEqual((await history(server, a.accessToken, room.id)).json.messages, [], 'rejected posts stored nothing');

    const emoji = '😀'.repeat(4000); // 4000 characters, 16000 bytes
    const e = await post(a.accessToken, { content: emoji });
    assert.equal(e.status, 201, e.text);
    assert.equal(e.json.message.content, emoji);
    const ascii = 'x'.repeat(4000);
    const x = await post(a.accessToken, { content: ascii });
    assert.equal(x.status, 201, x.text);
    const unicode = 'Grüße, 世界! "quotes" \\ back\\slash \u2028 tab\t newline\n end';
    const u = await post(a.accessToken, { content: unicode });
    assert.equal(u.status, 201, u.text);
    assert.equal(u.json.message.content, unicode);
    const padded = await post(a.accessToken, { content: '  hi  ' });
    assert.equal(padded.status, 201, padded.text);

    const h = await history(server, a.accessToken, room.id);
    assert.deepEqual(h.json.messages.map((m) => m.content).slice(1), [unicode, ascii, emoji]);
  }));

test('messages: limit defaults to 50, is clamped to 100, and bad limit/before are 400', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'Busy' });
    const sent = [];
    for (let i = 0; i < 105; i++) sent.push(await postMessage(server, a.accessToken, room.id, `m${i}`));
    const newestFirst = [...sent].reverse();

    const def = await history(server, a.accessToken, room.id);
    assert.equal(def.status, 200, def.text);
    assert.equal(def.json.messages.length, 50);
    assert.deepEqual(def.json.messages.map((m) => m.id), newestFirst.slice(0, 50).map((m) => m.id));
    assert.equal(def.json.hasMore, true);

    for (const limit of ['100', '101', '1000', '99999999999']) {
      const big = await history(server, a.accessToken, room.id, `?limit=${limit}`);
      assert.equal(big.status, 200, `limit=${limit}: ${big.text}`);
      assert.equal(big.json.messages.length, 100, `limit=${limit} is clamped to 100`);
      assert.equal(big.json.hasMore, true);
    }
    const rest = await history(server, a.accessToken, room.id, `?limit=100&before=${newestFirst[99].id}`);
    assert.deepEqual(rest.json.messages.map((m) => m.content), ['m4', 'm3', 'm2', 'm1', 'm0']);
    assert.equal(rest.json.hasMore, false);

    const one = await history(server, a.accessToken, room.id, '?limit=1');
    assert.deepEqual(one.json.messages.map((m) => m.content), ['m104']);
    assert.equal(one.json.hasMore, true);

    for (const limit of ['0', '-1', 'abc', '1.5', '10x']) {
      assertError(await history(server, a.accessToken, room.id, `?limit=${limit}`), 400, 'invalid_field', 'limit');
    }
    for (const before of ['abc', '-3', '1.5', '12abc']) {
      assertError(await history(server, a.accessToken, room.id, `?before=${before}`), 400, 'invalid_field', 'before');
    }
  }));

test('a member who is not host sees their role and can post; host is in the room object', T, () =>
  withServer(async (server) => {
    const a = await register(server);
    const b = await register(server);
    const room = await createRoom(server, a.accessToken, { name: 'Roles', private: true });
    assert.equal((await join(server, b.accessToken, room.code)).status, 200);
    const msg = await postMessage(server, b.accessToken, room.id, 'hello from b');
    assert.equal(msg.senderId, b.user.id);
    assert.equal(msg.senderName, b.username);
    const list = await members(server, b.accessToken, room.id);
    assert.deepEqual(list.json.members.map((m) => m.role), ['host', 'member']);
    const r = await getRoom(server, b.accessToken, room.id);
    assert.equal(r.json.room.hostId, a.user.id);
    assert.equal(r.json.room.private, true);
  }));
