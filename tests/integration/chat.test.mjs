// Room chat over the WebSocket: joining (history on join, REST paging back),
// room isolation, sending, typing indicators, presence across several sockets
// of one user, many concurrent clients, and durability of acknowledged
// messages across a restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { api, assertIsoUtc, assertRoom, makeTempDir, register, removeDir, sleep } from './lib.mjs';
import {
  closeAll,
  connect,
  createRoom,
  joinRoom,
  roomWithMembers,
  sendMessage,
  startChatServer,
  userWithSocket,
  withChatServer,
} from './ws-lib.mjs';

const T = { timeout: 120000 };

const history = (server, token, roomId, query = '') =>
  api(server, 'GET', `/api/rooms/${roomId}/messages${query}`, { token });
const members = (server, token, roomId) => api(server, 'GET', `/api/rooms/${roomId}/members`, { token });

function assertMessage(m, expected = {}) {
  assert.ok(m && typeof m === 'object', 'message object');
  assert.ok(Number.isInteger(m.id) && m.id > 0, `message.id: ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.roomId), 'message.roomId');
  assert.ok(Number.isInteger(m.senderId), 'message.senderId');
  assert.equal(typeof m.senderName, 'string');
  assert.equal(typeof m.content, 'string');
  assertIsoUtc(m.createdAt, 'message.createdAt');
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(m[k], v, `message.${k}`);
}

test('join_room: room_joined carries the room, its members and the last 50 messages oldest first; REST pages back', T, () =>
  withChatServer(async (server) => {
    const alice = await userWithSocket(server);
    const bob = await register(server);
    const room = await roomWithMembers(server, alice, [bob], { name: 'History' });
    await joinRoom(alice.ws, room.id);

    const sent = [];
    for (let i = 0; i < 60; i++) sent.push(await sendMessage(alice.ws, room.id, `message ${i}`));
    sent.forEach((m, i) => assertMessage(m, { roomId: room.id, senderId: alice.id, senderName: alice.username, content: `message ${i}` }));
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i].id > sent[i - 1].id, 'ids increase');

    const bobWs = await connect(server, bob.accessToken);
    try {
      const joined = await joinRoom(bobWs, room.id);
      assert.equal(joined.roomId, room.id);
      assertRoom(joined.room, { id: room.id, code: room.code, name: 'History', private: false, hostId: alice.id, memberCount: 2 });
      assert.equal(joined.hasMore, true);
      assert.deepEqual(joined.messages, sent.slice(10), 'the last 50, oldest first, exactly as acknowledged');

      assert.equal(joined.members.length, 2);
      const byId = Object.fromEntries(joined.members.map((m) => [m.userId, m]));
      assert.equal(byId[alice.id].username, alice.username);
      assert.equal(byId[alice.id].role, 'host');
      assert.equal(byId[alice.id].online, true, 'alice has a socket open');
      assert.equal(byId[bob.user.id].role, 'member');
      assert.equal(byId[bob.user.id].online, true, 'bob is online (this socket)');
      for (const m of joined.members) {
        assert.deepEqual(Object.keys(m).sort(), ['joinedAt', 'lastSeen', 'online', 'role', 'userId', 'username']);
        assertIsoUtc(m.joinedAt, 'member.joinedAt');
        if (m.lastSeen !== null) assertIsoUtc(m.lastSeen, 'member.lastSeen');
      }

      // Older messages over REST: before = the oldest id of the join page.
      const older = await history(server, bob.accessToken, room.id, `?limit=20&before=${joined.messages[0].id}`);
      assert.equal(older.status, 200, older.text);
      assert.equal(older.json.hasMore, false);
      assert.deepEqual(older.json.messages, sent.slice(0, 10).reverse(), 'REST pages are newest first');
      const page1 = await history(server, bob.accessToken, room.id, '?limit=25');
      const page2 = await history(server, bob.accessToken, room.id, `?limit=25&before=${page1.json.messages.at(-1).id}`);
      const page3 = await history(server, bob.accessToken, room.id, `?limit=25&before=${page2.json.messages.at(-1).id}`);
      assert.deepEqual([page1.json.hasMore, page2.json.hasMore, page3.json.hasMore], [true, true, false]);
      assert.deepEqual([...page1.json.messages, ...page2.json.messages, ...page3.json.messages].reverse(), sent);
    } finally {
      await closeAll([alice.ws, bobWs]);
    }
  }));

test('join_room: exactly 50 messages is hasMore false; an empty room has none', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    try {
      const full = await createRoom(server, a.accessToken, { name: 'fifty' });
      const sent = [];
      for (let i = 0; i < 50; i++) sent.push(await sendMessage(a.ws, full.id, `m${i}`));
      const j1 = await joinRoom(a.ws, full.id);
      assert.equal(j1.hasMore, false);
      assert.deepEqual(j1.messages, sent);

      const empty = await createRoom(server, a.accessToken, { name: 'empty' });
      const j2 = await joinRoom(a.ws, empty.id);
      assert.deepEqual(j2.messages, []);
      assert.equal(j2.hasMore, false);
      assert.deepEqual(j2.members.map((m) => [m.userId, m.role, m.online]), [[a.id, 'host', true]]);

      // Joining again is harmless and answers room_joined again.
      const j3 = await joinRoom(a.ws, empty.id);
      assert.equal(j3.roomId, empty.id);
    } finally {
      await a.ws.close();
    }
  }));

test('join_room by code makes a non-member a member and tells the room (user_joined)', T, () =>
  withChatServer(async (server) => {
    const host = await userWithSocket(server);
    const guest = await userWithSocket(server);
    try {
      const priv = await createRoom(server, host.accessToken, { name: 'secret', private: true });
      await joinRoom(host.ws, priv.id);

      // A private room by numeric id is forbidden to a non-member...
      const byId = await guest.ws.request({ type: 'join_room', roomId: priv.id });
      assert.equal(byId.type, 'error');
      assert.equal(byId.code, 'forbidden', JSON.stringify(byId));
      await host.ws.expectNothing('user_joined', 300);

      // ...but its code lets anyone in.
      const byCode = await joinRoom(guest.ws, priv.code);
      assert.equal(byCode.roomId, priv.id);
      assert.equal(byCode.room.memberCount, 2);
      assert.ok(byCode.members.some((m) => m.userId === guest.id && m.role === 'member'));
      const ev = await host.ws.next('user_joined');
      assert.deepEqual(ev, { type: 'user_joined', roomId: priv.id, userId: guest.id, username: guest.username });
      // The joiner itself is not told about its own arrival.
      await guest.ws.expectNothing('user_joined', 300);

      // The membership is real: REST agrees, and the numeric id now works.
      const m = await members(server, guest.accessToken, priv.id);
      assert.equal(m.status, 200, m.text);
      assert.ok(m.json.members.some((x) => x.userId === guest.id));
      assert.equal((await guest.ws.request({ type: 'join_room', roomId: priv.id })).type, 'room_joined');
    } finally {
      await closeAll([host.ws, guest.ws]);
    }
  }));

test('join_room errors: unknown, ended, malformed; leave_room tells the others', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    try {
      const room = await roomWithMembers(server, a, [b], { name: 'r' });
      const expectErr = async (client, msg, code) => {
        const r = await client.request(msg);
        assert.equal(r.type, 'error', JSON.stringify({ msg, r }));
        assert.equal(r.code, code, JSON.stringify({ msg, r }));
      };
      await expectErr(a.ws, { type: 'join_room', roomId: 999999 }, 'not_found');
      await expectErr(a.ws, { type: 'join_room', roomId: 'zzzz-zzzz-zzzz' }, 'not_found');
      await expectErr(a.ws, { type: 'join_room', roomId: 'nope' }, 'invalid_field');
      await expectErr(a.ws, { type: 'join_room', roomId: 0 }, 'invalid_field');
      await expectErr(a.ws, { type: 'leave_room', roomId: room.id }, 'not_in_room');

      await joinRoom(a.ws, room.id);
      await joinRoom(b.ws, room.id);
      await a.ws.next({ type: 'user_joined', userId: b.id });

      const left = await b.ws.request({ type: 'leave_room', roomId: room.id });
      assert.deepEqual(left, { type: 'left_room', roomId: room.id, id: left.id });
      assert.deepEqual(await a.ws.next('user_left'), { type: 'user_left', roomId: room.id, userId: b.id, username: b.username });
      // b left the socket subscription, not the membership: nothing more arrives for it...
      await sendMessage(a.ws, room.id, 'after b left');
      await b.ws.expectNothing('new_message', 400);
      // ...but b is still a member and may post (its own copy is the ack).
      const posted = await sendMessage(b.ws, room.id, 'still a member');
      assert.equal((await a.ws.next('new_message')).message.id, posted.id);

      // An ended room cannot be joined and takes no messages.
      const gone = await createRoom(server, a.accessToken, { name: 'gone' });
      assert.equal((await api(server, 'DELETE', `/api/rooms/${gone.id}`, { token: a.accessToken })).status, 204);
      await expectErr(a.ws, { type: 'join_room', roomId: gone.id }, 'not_found');
      await expectErr(a.ws, { type: 'join_room', roomId: gone.code }, 'not_found');
      await expectErr(a.ws, { type: 'send_message', roomId: gone.id, content: 'x' }, 'not_found');
    } finally {
      await closeAll([a.ws, b.ws]);
    }
  }));

test('leaving a room over REST stops its live events on the user\'s sockets', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    const b2 = await connect(server, b.accessToken);
    try {
      const room = await roomWithMembers(server, a, [b], { name: 'leavers' });
      await joinRoom(a.ws, room.id);
      await joinRoom(b.ws, room.id);
      await joinRoom(b2, room.id);
      const gone = await api(server, 'POST', `/api/rooms/${room.id}/leave`, { token: b.accessToken });
      assert.equal(gone.status, 204, gone.text);
      // b is no longer a member: none of b's sockets may see the room any more.
      await sendMessage(a.ws, room.id, 'said after b left');
      a.ws.send({ type: 'typing_start', roomId: room.id });
      // (A left_room notice would be fine; messages and typing are not.)
      const aboutRoom = (m) => m.type !== 'left_room' && (m.roomId === room.id || m.message?.roomId === room.id);
      await Promise.all([b.ws.expectNothing(aboutRoom, 700, 'room events after leaving'), b2.expectNothing(aboutRoom, 100)]);
      const h = await history(server, b.accessToken, room.id);
      assert.equal(h.status, 403, 'and REST agrees: not a member');
    } finally {
      await closeAll([a.ws, b.ws, b2]);
    }
  }));

test('send_message: new_message to every socket in the room; the sender\'s copy carries its id; bad input is refused', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    const outsider = await userWithSocket(server);
    try {
      const room = await roomWithMembers(server, a, [b]);
      await joinRoom(a.ws, room.id);
      await joinRoom(b.ws, room.id);

      const before = Date.now();
      a.ws.send({ type: 'send_message', roomId: room.id, content: 'héllo 👋', id: 'm-1' });
      const ack = await a.ws.next((m) => m.id === 'm-1');
      assert.equal(ack.type, 'new_message');
      assertMessage(ack.message, { roomId: room.id, senderId: a.id, senderName: a.username, content: 'héllo 👋' });
      assert.equal('fileId' in ack.message, false, 'no fileId when none was sent');
      assert.ok(Math.abs(Date.parse(ack.message.createdAt) - before) < 5000);
      const got = await b.ws.next('new_message');
      assert.deepEqual(got, { type: 'new_message', message: ack.message }, 'the others get the same message without the id');
      await a.ws.expectNothing('new_message', 300); // no second copy for the sender

      // Stored as acknowledged.
      const h = await history(server, a.accessToken, room.id);
      assert.deepEqual(h.json.messages, [ack.message]);

      const bad = async (msg, code) => {
        const r = await a.ws.request(msg);
        assert.equal(r.type, 'error', JSON.stringify({ msg, r }));
        assert.equal(r.code, code, JSON.stringify({ msg, r }));
      };
      await bad({ type: 'send_message', roomId: room.id, content: '' }, 'invalid_field');
      await bad({ type: 'send_message', roomId: room.id, content: '   \n\t ' }, 'invalid_field');
      await bad({ type: 'send_message', roomId: room.id, content: 'x'.repeat(4001) }, 'invalid_field');
      await bad({ type: 'send_message', roomId: room.id, content: null }, 'invalid_field');
      await bad({ type: 'send_message', roomId: room.code, content: 'by code' }, 'invalid_field');
      await bad({ type: 'send_message', roomId: 999999, content: 'x' }, 'not_found');
      await bad({ type: 'send_message', roomId: room.id, content: 'x', fileId: 'f'.repeat(32) }, 'invalid_field');
      const notMember = await outsider.ws.request({ type: 'send_message', roomId: room.id, content: 'let me in' });
      assert.equal(notMember.code, 'forbidden', JSON.stringify(notMember));

      // 4000 code points of emoji are fine.
      const long = await sendMessage(a.ws, room.id, '😀'.repeat(4000));
      assert.equal([...long.content].length, 4000);
      // None of the refused ones reached b or the store.
      await b.ws.next((m) => m.type === 'new_message' && m.message.id === long.id);
      assert.equal(b.ws.buffer.filter((m) => m.type === 'new_message').length, 0, JSON.stringify(b.ws.buffer));
      const h2 = await history(server, a.accessToken, room.id);
      assert.deepEqual(h2.json.messages.map((m) => m.id), [long.id, ack.message.id]);
    } finally {
      await closeAll([a.ws, b.ws, outsider.ws]);
    }
  }));

test('two rooms of three users each are fully isolated', T, () =>
  withChatServer(async (server) => {
    const users = [];
    for (let i = 0; i < 6; i++) users.push(await userWithSocket(server));
    const [r1Users, r2Users] = [users.slice(0, 3), users.slice(3)];
    try {
      const r1 = await roomWithMembers(server, r1Users[0], r1Users.slice(1), { name: 'one' });
      const r2 = await roomWithMembers(server, r2Users[0], r2Users.slice(1), { name: 'two' });
      for (const u of r1Users) await joinRoom(u.ws, r1.id);
      for (const u of r2Users) await joinRoom(u.ws, r2.id);

      // Everyone talks and types at once.
      const acks = await Promise.all(
        users.map((u, i) => sendMessage(u.ws, i < 3 ? r1.id : r2.id, `hello from ${u.username}`)),
      );
      for (const u of users) u.ws.send({ type: 'typing_start', roomId: r1Users.includes(u) ? r1.id : r2.id });

      const check = async (mine, roomId, myAcks, other, otherRoom) => {
        const otherIds = new Set(other.map((u) => u.id));
        for (const u of mine) {
          // Each gets the two other messages of its room (its own came as the ack).
          const want = myAcks.filter((m) => m.senderId !== u.id).map((m) => m.id).sort();
          const got = await u.ws.nextN('new_message', 2);
          assert.deepEqual(got.map((m) => m.message.id).sort(), want, `${u.username} got its room's messages`);
          // And the two others' typing.
          const typing = await u.ws.nextN('typing', 2);
          for (const t of typing) assert.equal(t.roomId, roomId);
        }
        // Then nothing more from the other room, for a while.
        const leaks = (m) =>
          m.roomId === otherRoom ||
          m.message?.roomId === otherRoom ||
          otherIds.has(m.userId) ||
          otherIds.has(m.message?.senderId);
        await Promise.all(mine.map((u) => u.ws.expectNothing(leaks, 700, 'anything about the other room')));
        for (const u of mine) {
          const leaked = u.ws.received.filter(leaks);
          assert.deepEqual(leaked, [], `${u.username} saw the other room`);
        }
      };
      await Promise.all([
        check(r1Users, r1.id, acks.slice(0, 3), r2Users, r2.id),
        check(r2Users, r2.id, acks.slice(3), r1Users, r1.id),
      ]);

      // History stays separate too.
      const h1 = await history(server, r1Users[0].accessToken, r1.id);
      assert.deepEqual(h1.json.messages.map((m) => m.id).sort(), acks.slice(0, 3).map((m) => m.id).sort());
      const cross = await history(server, r1Users[0].accessToken, r2.id);
      assert.equal(cross.status, 403, 'not a member of the other room');
    } finally {
      await closeAll(users.map((u) => u.ws));
    }
  }));

test('typing: start and stop reach the others; a typist who goes quiet is cleared after 5 s', T, () =>
  withChatServer(async (server) => {
    const [a, b, c] = [await userWithSocket(server), await userWithSocket(server), await userWithSocket(server)];
    try {
      const room = await roomWithMembers(server, a, [b, c]);
      for (const u of [a, b, c]) await joinRoom(u.ws, room.id);
      await sleep(200);
      for (const u of [a, b, c]) u.ws.clear();

      const typing = (on) => ({ type: 'typing', roomId: room.id, userId: a.id, username: a.username, typing: on });
      a.ws.send({ type: 'typing_start', roomId: room.id });
      assert.deepEqual(await b.ws.next('typing'), typing(true));
      assert.deepEqual(await c.ws.next('typing'), typing(true));
      // Repeating typing_start only extends it: no second event.
      a.ws.send({ type: 'typing_start', roomId: room.id });
      await b.ws.expectNothing('typing', 400);

      a.ws.send({ type: 'typing_stop', roomId: room.id });
      assert.deepEqual(await b.ws.next('typing'), typing(false));
      assert.deepEqual(await c.ws.next('typing'), typing(false));
      // Stopping when not typing says nothing.
      a.ws.send({ type: 'typing_stop', roomId: room.id });
      await b.ws.expectNothing('typing', 400);

      // Expiry: typing_start, then silence.
      a.ws.send({ type: 'typing_start', roomId: room.id });
      await b.ws.next({ type: 'typing', typing: true });
      const t0 = Date.now();
      const off = await b.ws.next({ type: 'typing', typing: false }, 9000);
      const after = Date.now() - t0;
      assert.deepEqual(off, typing(false));
      assert.ok(after >= 4500 && after <= 7500, `cleared ${after} ms after typing_start (5 s expected)`);
      await c.ws.next({ type: 'typing', typing: false });

      // Sending a message clears typing first, then delivers the message.
      a.ws.send({ type: 'typing_start', roomId: room.id });
      await b.ws.next({ type: 'typing', typing: true });
      const msg = await sendMessage(a.ws, room.id, 'done typing');
      await b.ws.next({ type: 'typing', typing: false });
      await b.ws.next((m) => m.type === 'new_message' && m.message.id === msg.id);
      const order = b.ws.received.filter((m) => m.type === 'new_message' || m.type === 'typing').slice(-2);
      assert.deepEqual(order.map((m) => m.type), ['typing', 'new_message']);
      await sleep(6500);
      await b.ws.expectNothing('typing', 100, 'no late expiry after the message');

      // Typing needs the socket to have joined the room.
      const other = await createRoom(server, b.accessToken, { name: 'elsewhere' });
      const err = await a.ws.request({ type: 'typing_start', roomId: other.id });
      assert.equal(err.code, 'not_in_room', JSON.stringify(err));
    } finally {
      await closeAll([a.ws, b.ws, c.ws]);
    }
  }));

test('typing: the typist gets no typing events about itself (start, stop, expiry, message)', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    try {
      const room = await roomWithMembers(server, a, [b]);
      await joinRoom(a.ws, room.id);
      await joinRoom(b.ws, room.id);
      a.ws.send({ type: 'typing_start', roomId: room.id });
      await b.ws.next({ type: 'typing', typing: true });
      a.ws.send({ type: 'typing_stop', roomId: room.id });
      await b.ws.next({ type: 'typing', typing: false });
      a.ws.send({ type: 'typing_start', roomId: room.id });
      await b.ws.next({ type: 'typing', typing: true });
      await sendMessage(a.ws, room.id, 'clears typing');
      await b.ws.next({ type: 'typing', typing: false });
      a.ws.send({ type: 'typing_start', roomId: room.id });
      await b.ws.next({ type: 'typing', typing: true });
      await b.ws.next({ type: 'typing', typing: false }, 9000); // expiry
      await a.ws.expectNothing('typing', 200, 'typing events about itself');
    } finally {
      await closeAll([a.ws, b.ws]);
    }
  }));

test('typing: leaving the room (or closing the socket) clears it for the others', T, () =>
  withChatServer(async (server) => {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    try {
      const room = await roomWithMembers(server, a, [b]);
      await joinRoom(a.ws, room.id);
      await joinRoom(b.ws, room.id);
      a.ws.send({ type: 'typing_start', roomId: room.id });
      await b.ws.next({ type: 'typing', typing: true });
      const t0 = Date.now();
      await a.ws.close();
      await b.ws.next({ type: 'typing', userId: a.id, typing: false }, 3000);
      assert.ok(Date.now() - t0 < 2500, 'cleared at once, not by the 5 s expiry');
      await b.ws.next({ type: 'user_left', userId: a.id });
    } finally {
      await closeAll([a.ws, b.ws]);
    }
  }));

test('presence: online with the first socket, offline (with lastSeen) only after the last one closes', T, () =>
  withChatServer(async (server) => {
    const a = await register(server);
    const b = await userWithSocket(server);
    const stranger = await userWithSocket(server); // shares no room with a
    let a1, a2;
    try {
      const room = await roomWithMembers(server, b, [a], { name: 'presence' });
      await joinRoom(b.ws, room.id);
      b.ws.clear();
      const memberA = async () => (await members(server, b.accessToken, room.id)).json.members.find((m) => m.userId === a.user.id);
      assert.equal((await memberA()).online, false);

      a1 = await connect(server, a.accessToken);
      const on = await b.ws.next('presence');
      assert.deepEqual(on, { type: 'presence', userId: a.user.id, username: a.username, status: 'online', lastSeen: null });
      assert.equal((await memberA()).online, true);

      a2 = await connect(server, a.accessToken);
      await b.ws.expectNothing('presence', 500, 'presence for a second socket');

      await joinRoom(a1, room.id);
      assert.deepEqual(await b.ws.next('user_joined'), { type: 'user_joined', roomId: room.id, userId: a.user.id, username: a.username });
      await joinRoom(a2, room.id);
      await b.ws.expectNothing('user_joined', 400, 'user_joined for a second socket of the same user');

      // Messages reach both of a's sockets.
      const m = await sendMessage(b.ws, room.id, 'to both');
      assert.equal((await a1.next('new_message')).message.id, m.id);
      assert.equal((await a2.next('new_message')).message.id, m.id);

      await a1.close();
      await b.ws.expectNothing((x) => x.type === 'presence' || x.type === 'user_left', 600, 'offline while a socket remains');
      assert.equal((await memberA()).online, true, 'still online with one socket left');

      const closedAt = Date.now();
      await a2.close();
      const left = await b.ws.next('user_left');
      assert.deepEqual(left, { type: 'user_left', roomId: room.id, userId: a.user.id, username: a.username });
      const off = await b.ws.next('presence');
      assert.equal(off.userId, a.user.id);
      assert.equal(off.username, a.username);
      assert.equal(off.status, 'offline');
      assertIsoUtc(off.lastSeen, 'presence.lastSeen');
      assert.ok(Math.abs(Date.parse(off.lastSeen) - closedAt) < 3000, `lastSeen ${off.lastSeen} is about now`);
      const after = await memberA();
      assert.equal(after.online, false);
      assert.equal(after.lastSeen, off.lastSeen, 'members list shows the same lastSeen');

      // Someone who shares no room with a heard nothing of it.
      await stranger.ws.expectNothing((x) => x.type === 'presence' && x.userId === a.user.id, 100);
      assert.deepEqual(stranger.ws.received.filter((x) => x.type === 'presence'), []);
    } finally {
      await closeAll([a1, a2, b.ws, stranger.ws]);
    }
  }));

test('several concurrent clients: every message reaches every member once, in one global order', T, () =>
  withChatServer(async (server) => {
    const N = 12;
    const PER = 5;
    const users = await Promise.all(Array.from({ length: N }, () => userWithSocket(server)));
    try {
      const room = await roomWithMembers(server, users[0], users.slice(1), { name: 'crowd' });
      await Promise.all(users.map((u) => joinRoom(u.ws, room.id)));
      await sleep(300);
      for (const u of users) u.ws.clear();

      // Everyone sends PER messages without waiting in between.
      const acks = await Promise.all(
        users.map((u, i) => Promise.all(Array.from({ length: PER }, (_, k) => sendMessage(u.ws, room.id, `u${i} #${k}`)))),
      );
      const allIds = acks.flat().map((m) => m.id);
      assert.equal(new Set(allIds).size, N * PER, 'unique ids');
      // Each sender's messages were stored in the order it sent them.
      acks.forEach((list) => list.forEach((m, k) => k && assert.ok(m.id > list[k - 1].id)));

      for (const [i, u] of users.entries()) {
        // The others' messages arrive as new_message without an id; own ones were the acks.
        const others = await u.ws.nextN((m) => m.type === 'new_message' && m.id === undefined, (N - 1) * PER, 15000);
        const ids = others.map((m) => m.message.id);
        assert.equal(new Set(ids).size, ids.length, `${u.username}: no duplicates`);
        assert.deepEqual(
          [...ids].sort((x, y) => x - y),
          allIds.filter((id) => !acks[i].some((m) => m.id === id)).sort((x, y) => x - y),
          `${u.username}: all the others' messages`,
        );
        // Arrival order is the store order, for everyone.
        const seen = u.ws.received.filter((m) => m.type === 'new_message').map((m) => m.message.id);
        assert.deepEqual(seen, [...seen].sort((x, y) => x - y), `${u.username}: in id order`);
      }
      await Promise.all(users.map((u) => u.ws.expectNothing('new_message', 300)));

      const h = await history(server, users[0].accessToken, room.id, '?limit=100');
      assert.equal(h.json.messages.length, N * PER);
    } finally {
      await closeAll(users.map((u) => u.ws));
    }
  }));

async function durabilityRun(kill) {
  const dir = makeTempDir();
  let server;
  try {
    server = await startChatServer({ dataDir: dir });
    const a = await userWithSocket(server);
    const b = await register(server);
    const room = await roomWithMembers(server, a, [b], { name: 'durable' });
    // Pipelined: all sent at once, each acknowledged.
    const N = 40;
    const acks = await Promise.all(Array.from({ length: N }, (_, i) => sendMessage(a.ws, room.id, `durable ${i}`)));
    const dmReply = await a.ws.request({ type: 'send_dm', recipientId: b.user.id, content: 'durable dm' });
    assert.equal(dmReply.type, 'new_dm');
    // Straight after the last acknowledgement: stop the node.
    await kill(server);
    await a.ws.closed(5000).catch(() => {});
    await a.ws.close();

    server = await startChatServer({ dataDir: dir });
    const h = await history(server, b.accessToken, room.id, '?limit=100');
    assert.equal(h.status, 200, h.text);
    assert.deepEqual(h.json.messages.slice().reverse(), acks, 'every acknowledged message, unchanged');
    const dms = await api(server, 'GET', `/api/direct-messages/${a.id}`, { token: b.accessToken });
    assert.equal(dms.status, 200, dms.text);
    assert.deepEqual(dms.json.messages, [dmReply.message]);
    // And the chat works on the restarted node.
    const again = await connect(server, a.accessToken);
    const j = await joinRoom(again, room.id);
    assert.deepEqual(j.messages.slice(-N), acks);
    await again.close();
  } finally {
    if (server) await server.stop();
    removeDir(dir);
  }
}

test('restart: SIGTERM right after the acknowledgements loses no acknowledged message', T, () =>
  durabilityRun(async (server) => {
    assert.equal(await server.stop(), 0, `clean exit on SIGTERM; stderr:\n${server.stderr()}`);
  }));

test('restart: even SIGKILL right after the acknowledgements loses no acknowledged message', T, () =>
  durabilityRun(async (server) => {
    server.proc.kill('SIGKILL');
    await server.stop();
  }));
