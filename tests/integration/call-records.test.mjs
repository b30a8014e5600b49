// Calls over the WebSocket without media: who is in the call, soft reconnect,
// the host ending it, and the records GET /api/calls keeps of it all.
import assert from 'node:assert/strict';
import test from 'node:test';

import { api, connect, roomWithMembers, sleep, startChatServer, userWithSocket } from './ws-lib.mjs';

async function callJoin(client, roomId, extra = {}) {
  const reply = await client.request({ type: 'call_join', roomId, ...extra });
  assert.equal(reply.type, 'call_joined', `call_join: ${JSON.stringify(reply)}`);
  return reply;
}

const isLeft = (userId) => (m) => m.type === 'participant_left' && m.userId === userId;

test('call records: joins, leaves, host end, pagination; errors on bad joins', async () => {
  const server = await startChatServer({
    args: ['--ice-servers', 'stun:stun.example.org:3478,turn:turn.example.org:3478', '--turn-username', 'u', '--turn-credential', 'c'],
  });
  try {
    const host = await userWithSocket(server);
    const guest = await userWithSocket(server);
    const stranger = await userWithSocket(server);
    const room = await roomWithMembers(server, host, [guest]);

    // Errors: unknown room, not a member, wrong type, a second join on one socket.
    assert.equal((await host.ws.request({ type: 'call_join', roomId: 999999 })).code, 'not_found');
    assert.equal((await stranger.ws.request({ type: 'call_join', roomId: room.id })).code, 'forbidden');
    assert.equal((await host.ws.request({ type: 'call_join', roomId: 'x' })).code, 'not_found');

    const joined = await callJoin(host.ws, room.id);
    assert.deepEqual(joined.participants, []);
    assert.equal(typeof joined.resumeToken, 'string');
    assert.deepEqual(joined.iceServers, [
      { urls: ['stun:stun.example.org:3478'] },
      { urls: ['turn:turn.example.org:3478'], username: 'u', credential: 'c' },
    ]);
    assert.equal((await host.ws.request({ type: 'call_join', roomId: room.id })).code, 'already_in_call');
    const guestJoined = await callJoin(guest.ws, room.id);
    assert.deepEqual(guestJoined.participants.map((p) => p.userId), [host.id]);
    await host.ws.next((m) => m.type === 'participant_joined' && m.participant.userId === guest.id);

    // Mute: everyone told, the requester's copy answers its id.
    const muted = await guest.ws.request({ type: 'mute', roomId: room.id, kind: 'audio' });
    assert.equal(muted.type, 'participant_updated');
    assert.equal(muted.participant.audioMuted, true);
    await host.ws.next((m) => m.type === 'participant_updated' && m.participant.userId === guest.id);
    // A subscribe answer with no offer outstanding, and garbage SDP to publish.
    assert.equal((await guest.ws.request({ type: 'call_subscribe_answer', roomId: room.id, sdp: 'v=0' })).code, 'no_offer');
    assert.equal((await guest.ws.request({ type: 'call_publish', roomId: room.id, sdp: 'nonsense' })).code, 'invalid_sdp');
    // Trickled candidates are checked and acknowledged.
    const ack = await guest.ws.request({ type: 'call_candidate', roomId: room.id, candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host' });
    assert.equal(ack.type, 'call_candidate_ack');
    assert.equal((await guest.ws.request({ type: 'call_candidate', roomId: room.id, candidate: 5 })).code, 'invalid_field');
    // A non-host cannot end the call.
    assert.equal((await guest.ws.request({ type: 'call_end', roomId: room.id })).code, 'forbidden');

    // The guest leaves; then the host leaves with a Close frame: the call ends, empty.
    assert.equal((await guest.ws.request({ type: 'call_leave', roomId: room.id })).type, 'call_left');
    await host.ws.next(isLeft(guest.id));
    await host.ws.close(1000);

    // A second call, ended by the host.
    const host2 = await connect(server, host.accessToken);
    await callJoin(host2, room.id);
    await callJoin(guest.ws, room.id);
    const ended = await host2.request({ type: 'call_end', roomId: room.id });
    assert.equal(ended.type, 'call_ended');
    await guest.ws.next((m) => m.type === 'call_ended' && m.by === host.id);

    const res = await api(server, 'GET', '/api/calls', { token: host.accessToken });
    assert.equal(res.status, 200, res.text);
    const [second, first] = res.json.calls;
    assert.equal(res.json.calls.length, 2);
    assert.equal(res.json.hasMore, false);
    assert.equal(first.roomId, room.id);
    assert.equal(first.endReason, 'empty');
    assert.ok(first.endedAt >= first.startedAt);
    assert.deepEqual(first.participants.map((p) => [p.userId, p.leftReason]), [[host.id, 'left'], [guest.id, 'left']]);
    assert.equal(second.endReason, 'ended_by_host');
    assert.deepEqual(second.participants.map((p) => p.leftReason), ['ended', 'ended']);

    const page = await api(server, 'GET', '/api/calls?limit=1', { token: guest.accessToken });
    assert.equal(page.json.calls.length, 1);
    assert.equal(page.json.hasMore, true);
    const rest = await api(server, 'GET', `/api/calls?limit=1&before=${page.json.calls[0].id}`, { token: guest.accessToken });
    assert.deepEqual(rest.json.calls.map((c) => c.id), [first.id]);
    assert.equal((await api(server, 'GET', '/api/calls', { token: stranger.accessToken })).json.calls.length, 0);
    assert.equal((await api(server, 'GET', '/api/calls?limit=0', { token: host.accessToken })).status, 400);
    assert.equal((await api(server, 'GET', '/api/calls')).status, 401);
    await host2.close();
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('soft reconnect: a dropped socket keeps its place 15 s; a Close frame leaves at once', { timeout: 60000 }, async () => {
  const server = await startChatServer();
  try {
    const a = await userWithSocket(server);
    const b = await userWithSocket(server);
    const room = await roomWithMembers(server, a, [b]);
    const joined = await callJoin(a.ws, room.id);
    await callJoin(b.ws, room.id);

    // Dropped without a Close frame: nobody is told, and the place comes back.
    a.ws.terminate();
    await b.ws.expectNothing(isLeft(a.id), 2000);
    const a2 = await connect(server, a.accessToken);
    assert.equal((await a2.request({ type: 'call_join', roomId: room.id, resumeToken: 'wrong' })).code, 'resume_failed');
    const resumed = await callJoin(a2, room.id, { resumeToken: joined.resumeToken });
    assert.equal(resumed.resumed, true);
    assert.deepEqual(resumed.participants.map((p) => p.userId), [b.id]);
    await b.ws.expectNothing(isLeft(a.id), 500);

    // Dropped and never back: gone after the window, as "disconnected".
    a2.terminate();
    const left = await b.ws.next(isLeft(a.id), 20000);
    assert.equal(left.reason, 'disconnected');

    // A Close frame leaves at once.
    const a3 = await connect(server, a.accessToken);
    await callJoin(a3, room.id);
    await a3.close(1000);
    assert.equal((await b.ws.next(isLeft(a.id), 2000)).reason, 'left');
    await b.ws.close();
  } finally {
    assert.equal(await server.stop(), 0);
  }
});

test('calls left open by a stopped node are closed at the next start', async () => {
  const server = await startChatServer();
  const a = await userWithSocket(server);
  const room = await roomWithMembers(server, a, []);
  await callJoin(a.ws, room.id);
  a.ws.terminate();
  await sleep(100);
  // SIGKILL: no chance to record the end.
  server.proc.kill('SIGKILL');
  await new Promise((r) => server.proc.once('exit', r));
  const again = await startChatServer({ dataDir: server.dataDir, port: server.port });
  try {
    const res = await api(again, 'GET', '/api/calls', { token: a.accessToken });
    assert.equal(res.json.calls.length, 1);
    assert.equal(res.json.calls[0].endReason, 'node_stopped');
    assert.equal(res.json.calls[0].participants[0].leftReason, 'node stopped');
  } finally {
    await again.stop();
    await server.stop(); // already gone: removes its data directory
  }
});
