// Direct calls over the WebSocket: one user rings another, who accepts,
// declines, misses or is busy; the caller cancels; an offline callee finds
// the missed call at sign-in; two devices ring and one answers; blocked
// callers learn only "unavailable". Every outcome is checked in GET
// /api/calls afterwards. The node runs with --ring-timeout 2.
import assert from 'node:assert/strict';
import test from 'node:test';

import { makeTempDir, removeDir } from './lib.mjs';
import { api, closeAll, connect, register, roomWithMembers, sleep, startChatServer, userWithSocket } from './ws-lib.mjs';

const RING_S = 2;
// A ringing call is missed within a tick (1 s) of its timeout.
const MISS_WAIT_MS = (RING_S + 3) * 1000;

async function invite(client, userId, media = 'video') {
  const reply = await client.request({ type: 'call_invite', userId, media });
  assert.equal(reply.type, 'call_invite_sent', `call_invite: ${JSON.stringify(reply)}`);
  assert.ok(Number.isInteger(reply.callId) && reply.callId > 0);
  assert.equal(reply.media, media);
  assert.equal(reply.callee.userId, userId);
  return reply.callId;
}

async function history(server, user) {
  const res = await api(server, 'GET', '/api/calls', { token: user.accessToken });
  assert.equal(res.status, 200, res.text);
  return res.json;
}

async function directCall(server, user, callId) {
  const h = await history(server, user);
  const c = h.calls.find((x) => x.id === callId);
  assert.ok(c, `call ${callId} in the history of user ${user.id}: ${JSON.stringify(h.calls)}`);
  assert.equal(c.kind, 'direct');
  return c;
}

// The same call as both sides see it, with what both must agree on.
async function bothSides(server, caller, callee, callId, status) {
  const out = await directCall(server, caller, callId);
  const inc = await directCall(server, callee, callId);
  assert.equal(out.direction, 'outgoing');
  assert.equal(inc.direction, 'incoming');
  assert.deepEqual(out.peer, { userId: callee.id, username: callee.user.username });
  assert.deepEqual(inc.peer, { userId: caller.id, username: caller.user.username });
  for (const c of [out, inc]) {
    assert.equal(c.status, status);
    assert.equal(typeof c.startedAt, 'string');
    assert.equal(typeof c.endedAt, 'string', `an over call has an end: ${JSON.stringify(c)}`);
    assert.ok(Date.parse(c.endedAt) >= Date.parse(c.startedAt));
  }
  return { out, inc };
}

// A clean stop: exit code 0, and nothing from the sanitizers (an ASan build).
async function stopCleanly(server) {
  const code = await server.stop();
  assert.equal(code, 0, `node exit code ${code}: ${server.stderr().slice(-2000)}`);
  assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
}

const ringingFor = (callId) => (m) => m.type === 'call_ringing' && m.callId === callId;
const outcome = (type, callId) => (m) => m.type === type && m.callId === callId;

test('direct calls: accept on one of two devices, hang up, decline, cancel', async () => {
  const server = await startChatServer({ args: ['--ring-timeout', String(RING_S)] });
  const extra = [];
  try {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    const b2 = await connect(server, b.accessToken); // b's second device
    extra.push(b2);
    const c = await userWithSocket(server);

    // ---- accepted on one device; the other stops ringing; hung up ----
    const callId = await invite(a.ws, b.id, 'video');
    const ring1 = await b.ws.next(ringingFor(callId));
    await b2.next(ringingFor(callId));
    assert.deepEqual(ring1.caller, { userId: a.id, username: a.user.username });
    assert.equal(ring1.media, 'video');
    assert.equal(ring1.waiting, false);
    await a.ws.expectNothing(ringingFor(callId), 100);

    const accepted = await b.ws.request({ type: 'call_accept', callId });
    assert.equal(accepted.type, 'call_accepted', JSON.stringify(accepted));
    assert.equal(accepted.elsewhere, false);
    assert.ok(Number.isInteger(accepted.roomId));
    const other = await b2.next(outcome('call_accepted', callId));
    assert.equal(other.elsewhere, true, 'the other device learns the call was answered elsewhere');
    const atCaller = await a.ws.next(outcome('call_accepted', callId));
    assert.equal(atCaller.roomId, accepted.roomId);
    assert.equal(atCaller.elsewhere, false);
    assert.deepEqual(atCaller.peer, { userId: b.id, username: b.user.username });
    // Answering twice, from the second device: refused, nothing changes.
    assert.equal((await b2.request({ type: 'call_accept', callId })).code, 'already_answered');
    assert.equal((await b2.request({ type: 'call_decline', callId })).code, 'already_answered');
    assert.equal((await a.ws.request({ type: 'call_cancel', callId })).code, 'already_answered');
    // Someone else cannot touch it.
    assert.equal((await c.ws.request({ type: 'call_accept', callId })).code, 'not_found');

    // The private room: both join its call like any room's; nobody else sees it.
    const joinedB = await b.ws.request({ type: 'call_join', roomId: accepted.roomId });
    assert.equal(joinedB.type, 'call_joined', JSON.stringify(joinedB));
    const joinedA = await a.ws.request({ type: 'call_join', roomId: accepted.roomId });
    assert.equal(joinedA.type, 'call_joined', JSON.stringify(joinedA));
    assert.deepEqual(joinedA.participants.map((p) => p.userId), [b.id]);
    for (const u of [a, b, c]) {
      const rooms = await api(server, 'GET', '/api/rooms', { token: u.accessToken });
      assert.equal(rooms.status, 200);
      assert.ok(!rooms.json.rooms.some((r) => r.id === accepted.roomId), 'a direct call room is never listed');
    }
    const roomAsB = await api(server, 'GET', `/api/rooms/${accepted.roomId}`, { token: b.accessToken });
    assert.equal(roomAsB.status, 200);
    const code = roomAsB.json.room.code;
    assert.equal((await api(server, 'POST', `/api/rooms/${code}/join`, { token: c.accessToken })).status, 403);
    assert.equal((await c.ws.request({ type: 'join_room', roomId: code })).code, 'forbidden');
    assert.equal((await c.ws.request({ type: 'call_join', roomId: accepted.roomId })).code, 'forbidden');
    // Its members neither leave nor delete it: it ends with the call.
    assert.equal((await api(server, 'POST', `/api/rooms/${accepted.roomId}/leave`, { token: b.accessToken })).status, 403);
    assert.equal((await api(server, 'DELETE', `/api/rooms/${accepted.roomId}`, { token: a.accessToken })).status, 403);

    await sleep(300); // a duration worth measuring
    const hung = await a.ws.request({ type: 'call_hangup', callId });
    assert.equal(hung.type, 'call_hangup', JSON.stringify(hung));
    assert.equal(hung.status, 'ended');
    assert.equal(hung.by, a.id);
    assert.ok(hung.durationMs >= 300, `duration ${hung.durationMs}`);
    await b.ws.next(outcome('call_hangup', callId));
    await b2.next(outcome('call_hangup', callId));
    await b.ws.next((m) => m.type === 'call_ended' && m.roomId === accepted.roomId);
    assert.equal((await b.ws.request({ type: 'call_accept', callId })).code, 'not_ringing');

    const ended = await bothSides(server, a, b, callId, 'ended');
    for (const side of [ended.out, ended.inc]) {
      assert.equal(side.media, 'video');
      assert.equal(typeof side.answeredAt, 'string');
      assert.ok(side.durationMs >= 300 && side.durationMs < 60000, `durationMs ${side.durationMs}`);
      assert.deepEqual(side.participants.map((p) => p.userId).sort(), [a.id, b.id].sort());
      assert.equal(side.roomId, accepted.roomId);
    }
    // The room ended with the call.
    assert.equal((await api(server, 'GET', `/api/rooms/${accepted.roomId}`, { token: b.accessToken })).status, 404);
    assert.equal((await b.ws.request({ type: 'call_join', roomId: accepted.roomId })).code, 'not_found');

    // ---- accepted, then one side leaves the room's call: ended for both ----
    const leaveId = await invite(b.ws, a.id, 'audio');
    await a.ws.next(ringingFor(leaveId));
    const acc2 = await a.ws.request({ type: 'call_accept', callId: leaveId });
    assert.equal(acc2.type, 'call_accepted');
    await b.ws.next(outcome('call_accepted', leaveId));
    await b2.next(outcome('call_accepted', leaveId));
    assert.equal((await a.ws.request({ type: 'call_join', roomId: acc2.roomId })).type, 'call_joined');
    assert.equal((await b.ws.request({ type: 'call_join', roomId: acc2.roomId })).type, 'call_joined');
    assert.equal((await a.ws.request({ type: 'call_leave', roomId: acc2.roomId })).type, 'call_left');
    const left = await b.ws.next(outcome('call_hangup', leaveId));
    assert.equal(left.by, a.id);
    await b.ws.next((m) => m.type === 'call_ended' && m.roomId === acc2.roomId);
    const leftRec = await bothSides(server, b, a, leaveId, 'ended');
    assert.equal(leftRec.out.media, 'audio');

    // ---- declined ----
    const declineId = await invite(a.ws, b.id);
    await b.ws.next(ringingFor(declineId));
    await b2.next(ringingFor(declineId));
    const declined = await b2.request({ type: 'call_decline', callId: declineId });
    assert.equal(declined.type, 'call_declined');
    assert.equal(declined.by, b.id);
    await a.ws.next(outcome('call_declined', declineId));
    await b.ws.next(outcome('call_declined', declineId));
    assert.equal((await b.ws.request({ type: 'call_accept', callId: declineId })).code, 'not_ringing');
    const dec = await bothSides(server, a, b, declineId, 'declined');
    assert.equal(dec.out.answeredAt, null);
    assert.equal(dec.out.durationMs, 0);

    // ---- cancelled, then accepting it: refused, nothing made ----
    const cancelId = await invite(a.ws, b.id);
    await b.ws.next(ringingFor(cancelId));
    // Its room exists from the first ring, but its call cannot start before the answer.
    const ringingRec = await directCall(server, a, cancelId);
    assert.equal(ringingRec.status, 'ringing');
    assert.equal(ringingRec.endedAt, null);
    assert.equal((await a.ws.request({ type: 'call_join', roomId: ringingRec.roomId })).code, 'not_answered');
    // Only the callee declines; only the caller cancels.
    assert.equal((await a.ws.request({ type: 'call_decline', callId: cancelId })).code, 'forbidden');
    assert.equal((await b.ws.request({ type: 'call_cancel', callId: cancelId })).code, 'forbidden');
    const cancelled = await a.ws.request({ type: 'call_cancel', callId: cancelId });
    assert.equal(cancelled.type, 'call_cancelled');
    await b.ws.next(outcome('call_cancelled', cancelId));
    await b2.next(outcome('call_cancelled', cancelId));
    const late = await b.ws.request({ type: 'call_accept', callId: cancelId });
    assert.equal(late.code, 'not_ringing');
    assert.match(late.message, /cancelled/);
    const can = await bothSides(server, a, b, cancelId, 'cancelled');
    assert.equal(can.inc.answeredAt, null);
    await b.ws.expectNothing((m) => m.type === 'call_accepted' && m.callId === cancelId, 200);

    // The history lists them newest first; room calls are still there too.
    const ha = await history(server, a);
    assert.deepEqual(ha.calls.map((x) => x.id), [cancelId, declineId, leaveId, callId]);
    assert.equal(ha.missedUnseen, 0);
    const paged = await api(server, 'GET', `/api/calls?limit=2&before=${declineId}`, { token: a.accessToken });
    assert.deepEqual(paged.json.calls.map((x) => x.id), [leaveId, callId]);
    await closeAll(extra);
    await stopCleanly(server);
  } finally {
    await closeAll(extra);
    await server.stop();
  }
});

test('direct calls: missed by timeout, busy, call waiting, offline then missed at sign-in', async () => {
  const dataDir = makeTempDir();
  const server = await startChatServer({ dataDir, args: ['--ring-timeout', String(RING_S)] });
  const extra = [];
  let again = null;
  try {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    const c = await userWithSocket(server);

    // ---- rings out: missed, on both sides ----
    const missId = await invite(a.ws, b.id);
    const ring = await b.ws.next(ringingFor(missId));
    assert.ok(ring.expiresInMs > 0 && ring.expiresInMs <= RING_S * 1000);
    const missedA = await a.ws.next(outcome('call_missed', missId), MISS_WAIT_MS);
    assert.equal(missedA.status, 'missed');
    await b.ws.next(outcome('call_missed', missId), 1000);
    const miss = await bothSides(server, a, b, missId, 'missed');
    assert.equal(miss.inc.seen, false);
    assert.equal(miss.out.seen, undefined, 'only the callee has a missed call to see');
    assert.equal((await history(server, b)).missedUnseen, 1);
    assert.equal((await history(server, a)).missedUnseen, 0);
    assert.equal((await b.ws.request({ type: 'call_accept', callId: missId })).code, 'not_ringing');
    const seen = await api(server, 'POST', '/api/calls/seen', { token: b.accessToken });
    assert.equal(seen.status, 200, seen.text);
    assert.equal(seen.json.marked, 1);
    assert.equal((await history(server, b)).missedUnseen, 0);
    assert.equal((await directCall(server, b, missId)).seen, true);

    // ---- busy: the callee is in a room's call ----
    const room = await roomWithMembers(server, b, [c]);
    assert.equal((await b.ws.request({ type: 'call_join', roomId: room.id })).type, 'call_joined');
    const busyId = await invite(a.ws, b.id);
    const busy = await a.ws.next(outcome('call_busy', busyId));
    assert.equal(busy.status, 'busy');
    await b.ws.next(outcome('call_busy', busyId)); // told, never rung
    await b.ws.expectNothing(ringingFor(busyId), 200);
    await bothSides(server, a, b, busyId, 'busy');

    // ---- call waiting: the same callee, now willing, is rung ----
    const cw = await b.ws.request({ type: 'call_waiting', enabled: true });
    assert.equal(cw.type, 'call_waiting');
    assert.equal(cw.enabled, true);
    const waitId = await invite(a.ws, b.id);
    const waitRing = await b.ws.next(ringingFor(waitId));
    assert.equal(waitRing.waiting, true);
    // Accepting while this socket is still in the room's call is refused.
    assert.equal((await b.ws.request({ type: 'call_accept', callId: waitId })).code, 'already_in_call');
    assert.equal((await b.ws.request({ type: 'call_decline', callId: waitId })).type, 'call_declined');
    await a.ws.next(outcome('call_declined', waitId));
    assert.equal((await b.ws.request({ type: 'call_waiting', enabled: false })).enabled, false);
    assert.equal((await b.ws.request({ type: 'call_leave', roomId: room.id })).type, 'call_left');

    // ---- busy: the callee is already being rung by someone else ----
    const firstId = await invite(c.ws, b.id);
    await b.ws.next(ringingFor(firstId));
    const secondId = await invite(a.ws, b.id);
    await a.ws.next(outcome('call_busy', secondId));
    await b.ws.expectNothing(ringingFor(secondId), 200);
    assert.equal((await c.ws.request({ type: 'call_cancel', callId: firstId })).type, 'call_cancelled');
    await bothSides(server, a, b, secondId, 'busy');
    await bothSides(server, c, b, firstId, 'cancelled');

    // ---- offline callee: no error, it rings out, and waits for the next sign-in ----
    const d = await register(server);
    const dId = d.user.id;
    const offId = await invite(a.ws, dId, 'audio');
    await a.ws.next(outcome('call_missed', offId), MISS_WAIT_MS);
    const dws = await connect(server, d.accessToken);
    extra.push(dws);
    const waiting = await dws.next('missed_calls');
    assert.equal(waiting.count, 1);
    assert.equal(waiting.calls.length, 1);
    assert.equal(waiting.calls[0].callId, offId);
    assert.deepEqual(waiting.calls[0].caller, { userId: a.id, username: a.user.username });
    assert.equal(waiting.calls[0].media, 'audio');
    const off = await bothSides(server, a, { ...d, id: dId }, offId, 'missed');
    assert.equal(off.inc.seen, false);
    // Signing in again before seeing it: still waiting.
    const dws2 = await connect(server, d.accessToken);
    extra.push(dws2);
    assert.equal((await dws2.next('missed_calls')).count, 1);
    await api(server, 'POST', '/api/calls/seen', { token: d.accessToken });
    const dws3 = await connect(server, d.accessToken);
    extra.push(dws3);
    await dws3.expectNothing('missed_calls', 300);

    // A callee who signs in while it rings is rung on that new socket.
    await dws.close();
    await dws2.close();
    await dws3.close();
    const lateId = await invite(a.ws, dId);
    const dws4 = await connect(server, d.accessToken);
    extra.push(dws4);
    await dws4.next(ringingFor(lateId));
    assert.equal((await dws4.request({ type: 'call_accept', callId: lateId })).type, 'call_accepted');
    await a.ws.next(outcome('call_accepted', lateId));
    // Accepted but nobody joins the media: it ends after the same timeout.
    await a.ws.next(outcome('call_hangup', lateId), MISS_WAIT_MS);
    await bothSides(server, a, { ...d, id: dId }, lateId, 'ended');
    // A call ringing when the node stops: missed, and its room ended, at the next start.
    const stopId = await invite(a.ws, b.id);
    await b.ws.next(ringingFor(stopId));
    await closeAll(extra);
    await stopCleanly(server);
    again = await startChatServer({ dataDir, args: ['--ring-timeout', String(RING_S)] });
    const stopped = await directCall(again, a, stopId);
    assert.equal(stopped.status, 'missed');
    assert.equal(typeof stopped.endedAt, 'string');
    assert.equal((await history(again, b)).missedUnseen, 1);
    const live = await api(again, 'GET', '/api/rooms', { token: a.accessToken });
    assert.ok(!live.json.rooms.some((r) => r.id === stopped.roomId));
    await stopCleanly(again);
  } finally {
    await closeAll(extra);
    await server.stop();
    await again?.stop();
    removeDir(dataDir);
  }
});

test('direct calls: blocked callers, unknown users, yourself, a second invite, bad fields', async () => {
  const server = await startChatServer({ args: ['--ring-timeout', String(RING_S)] });
  try {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    const before = (await history(server, a)).calls.length;

    // b blocks a: a learns only "unavailable", exactly as for nobody at all.
    assert.equal((await api(server, 'POST', `/api/users/${a.id}/block`, { token: b.accessToken })).status < 300, true);
    const blocked = await a.ws.request({ type: 'call_invite', userId: b.id });
    const unknown = await a.ws.request({ type: 'call_invite', userId: 987654 });
    assert.equal(blocked.type, 'error');
    assert.equal(blocked.code, 'unavailable');
    assert.equal(unknown.code, 'unavailable');
    assert.equal(blocked.message, unknown.message);
    await b.ws.expectNothing('call_ringing', 300);
    // And b, having blocked a, is told why they cannot call.
    assert.equal((await b.ws.request({ type: 'call_invite', userId: a.id })).code, 'blocked');
    // Nothing was recorded for the refused calls.
    assert.equal((await history(server, a)).calls.length, before);
    assert.equal((await history(server, b)).calls.length, 0);
    assert.equal((await api(server, 'DELETE', `/api/users/${a.id}/block`, { token: b.accessToken })).status < 300, true);

    // Yourself, bad fields, unknown calls.
    assert.equal((await a.ws.request({ type: 'call_invite', userId: a.id })).code, 'cannot_call_self');
    assert.equal((await a.ws.request({ type: 'call_invite', userId: 'x' })).code, 'invalid_field');
    assert.equal((await a.ws.request({ type: 'call_invite', userId: b.id, media: 'fax' })).code, 'invalid_field');
    assert.equal((await a.ws.request({ type: 'call_accept', callId: 'x' })).code, 'invalid_field');
    assert.equal((await a.ws.request({ type: 'call_accept', callId: 424242 })).code, 'not_found');
    assert.equal((await a.ws.request({ type: 'call_waiting', enabled: 'yes' })).code, 'invalid_field');

    // A second invite while the first rings: refused; only the first exists.
    const first = await invite(a.ws, b.id);
    await b.ws.next(ringingFor(first));
    const again = await a.ws.request({ type: 'call_invite', userId: b.id });
    assert.equal(again.code, 'already_calling');
    await b.ws.expectNothing('call_ringing', 200);
    assert.deepEqual((await history(server, a)).calls.map((x) => x.id), [first]);
    // The caller's socket closing cancels what it rang.
    await a.ws.close(1000);
    const gone = await b.ws.next(outcome('call_cancelled', first));
    assert.equal(gone.by, a.id);
    await bothSides(server, a, b, first, 'cancelled');
    // The node is still fine.
    assert.equal((await api(server, 'GET', '/api/health')).status, 200);
    await stopCleanly(server);
  } finally {
    await server.stop();
  }
});
