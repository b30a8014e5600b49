// WHIP (RFC 9725) over HTTP against a real node: ingest keys over REST, a
// session created with a key or a member's token, its Location, PATCH and
// DELETE, CORS, and the refusals (content type, room, credential, revoked
// key, too many sessions, no usable codec). A member on the WebSocket sees the
// ingest arrive in the call, get offered to it, and leave. Media itself is
// exercised by tests/e2e/whip.test.mjs (GStreamer and Chromium).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';

import { api, assertError, createRoom, register, startServer } from './lib.mjs';
import { connect } from './ws-lib.mjs';

const fingerprint = () => crypto.randomBytes(32).toString('hex').toUpperCase().match(/../g).join(':');

/* An offer as a WHIP encoder writes it: BUNDLE, rtcp-mux, sendonly sections. */
function whipOffer({ video = 'VP8', audio = 'opus', ufrag = 'whp1', datachannel = false } = {}) {
  const pwd = crypto.randomBytes(12).toString('hex');
  const fp = fingerprint();
  const out = ['v=0', `o=- ${crypto.randomInt(1, 1e9)} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0 1'];
  const sections = [
    ['audio', 111, `${audio}/48000/2`],
    ['video', 96, `${video}/90000`],
  ];
  sections.forEach(([kind, pt, rtpmap], i) => {
    const ssrc = crypto.randomInt(1, 2 ** 31);
    out.push(
      `m=${kind} 9 UDP/TLS/RTP/SAVPF ${pt}`, 'c=IN IP4 0.0.0.0', `a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`,
      `a=fingerprint:sha-256 ${fp}`, 'a=setup:actpass', `a=mid:${i}`, 'a=sendonly', 'a=rtcp-mux',
      `a=rtpmap:${pt} ${rtpmap}`, `a=ssrc:${ssrc} cname:encoder`,
    );
  });
  if (datachannel) {
    out[4] = 'a=group:BUNDLE 0 1 2';
    out.push('m=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0', `a=ice-ufrag:${ufrag}`,
      `a=ice-pwd:${pwd}`, `a=fingerprint:sha-256 ${fp}`, 'a=setup:actpass', 'a=mid:2', 'a=sctp-port:5000');
  }
  return out.join('\r\n') + '\r\n';
}

const whip = (server, path, { method = 'POST', token, sdp = whipOffer(), type = 'application/sdp', headers = {} } = {}) =>
  api(server, method, path, {
    token,
    rawBody: method === 'POST' || method === 'PATCH' ? sdp : undefined,
    headers: { 'content-type': type, ...headers },
  });

let server;
let host;
let member;
let room;
before(async () => {
  server = await startServer();
  host = await register(server);
  member = await register(server);
  room = await createRoom(server, host.accessToken, { name: 'broadcast' });
  const joined = await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: member.accessToken });
  assert.equal(joined.status, 200, joined.text);
});
after(async () => {
  const code = await server?.stop();
  assert.equal(code, 0, `node exit code ${code}: ${server.stderr().slice(-2000)}`);
  // Built with SANITIZE=1, any sanitizer report is a failure.
  assert.doesNotMatch(server.stderr(), /AddressSanitizer|LeakSanitizer|runtime error:/);
});

test('ingest keys: the host creates, lists and revokes them; others may not', async () => {
  const made = await api(server, 'POST', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken, body: { name: 'OBS studio' } });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.json.name, 'OBS studio');
  assert.match(made.json.key, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(made.json.whipUrl, `/whip/${room.code}`);
  assert.equal(made.json.revokedAt, null);
  const list = await api(server, 'GET', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken });
  assert.equal(list.status, 200);
  const listed = list.json.keys.find((k) => k.id === made.json.id);
  assert.ok(listed, list.text);
  assert.equal(listed.key, undefined, 'the key is shown once, at creation');
  assertError(await api(server, 'POST', `/api/rooms/${room.id}/ingest-keys`, { token: member.accessToken, body: { name: 'x' } }), 403, 'forbidden');
  assertError(await api(server, 'GET', `/api/rooms/${room.id}/ingest-keys`, { token: member.accessToken }), 403, 'forbidden');
  assertError(await api(server, 'POST', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken, body: { name: '' } }), 400, 'invalid_field', 'name');
  assertError(await api(server, 'POST', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken, body: {} }), 400, 'invalid_field', 'name');
  assertError(await api(server, 'DELETE', `/api/rooms/${room.id}/ingest-keys/${made.json.id}`, { token: member.accessToken }), 403, 'forbidden');
  const gone = await api(server, 'DELETE', `/api/rooms/${room.id}/ingest-keys/${made.json.id}`, { token: host.accessToken });
  assert.equal(gone.status, 204, gone.text);
  assertError(await api(server, 'DELETE', `/api/rooms/${room.id}/ingest-keys/${made.json.id}`, { token: host.accessToken }), 404, 'not_found');
  const after = await api(server, 'GET', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken });
  assert.ok(after.json.keys.find((k) => k.id === made.json.id).revokedAt, 'a revoked key is listed with revokedAt');
  // A revoked key publishes nothing.
  assertError(await whip(server, `/whip/${room.code}`, { token: made.json.key }), 403, 'key_revoked');
});

test('a WHIP session joins the call, is offered to members, and leaves on DELETE', async () => {
  const key = (await api(server, 'POST', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken, body: { name: 'camera 1' } })).json;
  const ws = await connect(server, member.accessToken);
  try {
    await ws.request({ type: 'call_join', roomId: room.id });
    const res = await whip(server, `/whip/${room.code}`, { token: key.key, sdp: whipOffer({ datachannel: true }) });
    assert.equal(res.status, 201, res.text);
    assert.match(res.headers.get('content-type'), /^application\/sdp/);
    assert.match(res.text, /m=application 0 /);
    const location = res.headers.get('location');
    assert.match(location, new RegExp(`^/whip/${room.code}/[0-9a-f]{32}$`));
    assert.ok(res.headers.get('etag'));
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.match(res.text, /a=recvonly/);
    assert.match(res.text, /a=ice-lite/);
    assert.match(res.text, /a=setup:passive/);
    assert.match(res.text, /a=candidate:/);
    assert.doesNotMatch(res.text, /a=sctp-port/, 'an ingest has no data channels');

    const joined = await ws.next((m) => m.type === 'participant_joined');
    assert.equal(joined.participant.username, 'camera 1');
    assert.equal(joined.participant.ingest, true);
    assert.ok(joined.participant.userId < 0, 'an ingest is not an account');
    assert.deepEqual(joined.participant.tracks.map((t) => t.kind).sort(), ['audio', 'video']);
    const offer = await ws.next((m) => m.type === 'call_subscribe_offer');
    assert.equal((offer.sdp.match(/a=sendonly/g) || []).length, 2, offer.sdp);
    assert.match(offer.sdp, new RegExp(`a=msid:u${joined.participant.userId}-camera `));

    // The key counts its sessions.
    const listed = (await api(server, 'GET', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken })).json.keys;
    assert.equal(listed.find((k) => k.id === key.id).sessions, 1);

    // PATCH: trickle is acknowledged, an ICE restart refused, other bodies refused.
    const frag = 'a=ice-ufrag:whp1\r\na=ice-pwd:whatever\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n';
    const trickled = await whip(server, location, { method: 'PATCH', sdp: frag, type: 'application/trickle-ice-sdpfrag' });
    assert.equal(trickled.status, 204, trickled.text);
    assertError(await whip(server, location, { method: 'PATCH', sdp: frag.replace('whp1', 'new1'), type: 'application/trickle-ice-sdpfrag' }), 422, 'ice_restart_unsupported');
    assertError(await whip(server, location, { method: 'PATCH', sdp: frag, type: 'application/sdp' }), 415, 'unsupported_media_type');
    assertError(await whip(server, `/whip/${room.code}/${'0'.repeat(32)}`, { method: 'PATCH', sdp: frag, type: 'application/trickle-ice-sdpfrag' }), 404, 'not_found');

    const del = await api(server, 'DELETE', location);
    assert.equal(del.status, 200, del.text);
    const left = await ws.next((m) => m.type === 'participant_left');
    assert.equal(left.userId, joined.participant.userId);
    assertError(await api(server, 'DELETE', location), 404, 'not_found');
  } finally {
    ws.close();
  }
});

test('a member publishes with their access token; sessions per credential are bounded', async () => {
  const made = [];
  for (let i = 0; i < 2; i++) {
    const res = await whip(server, `/whip/${room.id}`, { token: member.accessToken });
    assert.equal(res.status, 201, res.text);
    made.push(res.headers.get('location'));
  }
  assertError(await whip(server, `/whip/${room.id}`, { token: member.accessToken }), 409, 'too_many_sessions');
  for (const loc of made) assert.equal((await api(server, 'DELETE', loc)).status, 200);
  const again = await whip(server, `/whip/${room.id}`, { token: member.accessToken });
  assert.equal(again.status, 201, again.text);
  assert.equal((await api(server, 'DELETE', again.headers.get('location'))).status, 200);
});

test('WHIP refusals: content type, room, credentials, codecs, SDP', async () => {
  const key = (await api(server, 'POST', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken, body: { name: 'bad input' } })).json.key;
  const outsider = await register(server);
  const other = await createRoom(server, outsider.accessToken, { name: 'elsewhere' });
  assertError(await whip(server, `/whip/${room.code}`, { token: key, type: 'application/json' }), 415, 'unsupported_media_type');
  assertError(await whip(server, '/whip/zzzz-zzzz-zzzz', { token: key }), 404, 'not_found');
  const anon = await whip(server, `/whip/${room.code}`, {});
  assertError(anon, 401, 'unauthorized');
  assert.match(anon.headers.get('www-authenticate'), /^Bearer/);
  assertError(await whip(server, `/whip/${room.code}`, { token: 'A'.repeat(43) }), 401, 'unauthorized');
  assertError(await whip(server, `/whip/${other.code}`, { token: key }), 401, 'unauthorized');
  assertError(await whip(server, `/whip/${room.code}`, { token: outsider.accessToken }), 403, 'forbidden');
  assertError(await whip(server, `/whip/${room.code}`, { token: key, sdp: whipOffer({ video: 'AV1X', audio: 'G722' }) }), 422, 'no_usable_codec');
  assertError(await whip(server, `/whip/${room.code}`, { token: key, sdp: 'v=0\r\nthis is not sdp\r\n' }), 400, 'invalid_sdp');
  assertError(await whip(server, `/whip/${room.code}`, { token: key, sdp: whipOffer().replace('a=group:BUNDLE 0 1\r\n', '') }), 400, 'invalid_sdp');
  assertError(await whip(server, `/whip/${room.code}`, { token: key, sdp: '' }), 400, 'invalid_sdp');
  assertError(await api(server, 'GET', `/whip/${room.code}`), 405, 'method_not_allowed');
});

test('OPTIONS answers CORS preflights', async () => {
  const res = await api(server, 'OPTIONS', `/whip/${room.code}`, {
    headers: { origin: 'https://encoder.example', 'access-control-request-method': 'POST' },
  });
  assert.equal(res.status, 204, res.text);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.match(res.headers.get('access-control-allow-methods'), /POST/);
  assert.match(res.headers.get('access-control-allow-headers'), /Authorization/);
  assert.match(res.headers.get('accept-post'), /application\/sdp/);
});

test('ending the room ends its WHIP sessions', async () => {
  const r2 = await createRoom(server, host.accessToken, { name: 'short-lived' });
  const key = (await api(server, 'POST', `/api/rooms/${r2.id}/ingest-keys`, { token: host.accessToken, body: { name: 'enc' } })).json.key;
  const res = await whip(server, `/whip/${r2.code}`, { token: key });
  assert.equal(res.status, 201, res.text);
  assert.equal((await api(server, 'DELETE', `/api/rooms/${r2.id}`, { token: host.accessToken })).status, 204);
  assertError(await api(server, 'DELETE', res.headers.get('location')), 404, 'not_found');
});

/* A receive-only offer as a WHEP player writes it. */
function whepOffer({ video = 'VP8', audio = 'opus' } = {}) {
  return whipOffer({ video, audio, ufrag: 'whe1' }).replace(/a=sendonly/g, 'a=recvonly').replace(/a=ssrc:.*\r\n/g, '');
}

test('WHEP: a receive-only session plays a chosen participant; refusals', async () => {
  const key = (await api(server, 'POST', `/api/rooms/${room.id}/ingest-keys`, { token: host.accessToken, body: { name: 'source' } })).json.key;
  const ws = await connect(server, member.accessToken);
  try {
    await ws.request({ type: 'call_join', roomId: room.id });
    const pub = await whip(server, `/whip/${room.code}`, { token: key });
    assert.equal(pub.status, 201, pub.text);
    const joined = await ws.next((m) => m.type === 'participant_joined' && m.participant.ingest);
    const id = joined.participant.userId;

    const res = await whip(server, `/whep/${room.code}?participant=${id}`, { token: member.accessToken, sdp: whepOffer() });
    assert.equal(res.status, 201, res.text);
    const location = res.headers.get('location');
    assert.match(location, new RegExp(`^/whep/${room.code}/[0-9a-f]{32}$`));
    assert.equal((res.text.match(/a=sendonly/g) || []).length, 2, res.text);
    assert.match(res.text, /a=rtpmap:96 VP8\/90000/);
    assert.match(res.text, /a=rtpmap:111 opus\/48000\/2/);
    assert.equal((res.text.match(/a=ssrc:\d+ cname:/g) || []).length, 2, res.text);
    // A viewer is not a participant of the call.
    await ws.expectNothing((m) => m.type === 'participant_joined', 300);

    const frag = 'a=ice-ufrag:whe1\r\na=ice-pwd:x\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\n';
    assert.equal((await whip(server, location, { method: 'PATCH', sdp: frag, type: 'application/trickle-ice-sdpfrag' })).status, 204);
    assertError(await whip(server, location, { method: 'PATCH', sdp: frag.replace('whe1', 'zzz9'), type: 'application/trickle-ice-sdpfrag' }), 422, 'ice_restart_unsupported');
    assert.equal((await api(server, 'DELETE', location)).status, 200);
    assertError(await api(server, 'DELETE', location), 404, 'not_found');

    assertError(await whip(server, `/whep/${room.code}?participant=999999`, { token: member.accessToken, sdp: whepOffer() }), 404, 'not_found', 'participant');
    assertError(await whip(server, `/whep/${room.code}?participant=abc`, { token: member.accessToken, sdp: whepOffer() }), 400, 'invalid_field', 'participant');
    assertError(await whip(server, `/whep/${room.code}`, { token: member.accessToken, sdp: whepOffer({ video: 'AV1X', audio: 'G722' }) }), 422, 'no_usable_codec');
    assertError(await whip(server, `/whep/${room.code}`, { token: member.accessToken, sdp: whepOffer(), type: 'text/plain' }), 415, 'unsupported_media_type');
    assertError(await whip(server, `/whep/${room.code}`, { sdp: whepOffer() }), 401, 'unauthorized');
    assertError(await whip(server, '/whep/zzzz-zzzz-zzzz', { token: member.accessToken, sdp: whepOffer() }), 404, 'not_found');
    assertError(await whip(server, `/whep/${room.code}`, { token: member.accessToken, sdp: 'v=0\r\nnot sdp\r\n' }), 400, 'invalid_sdp');
    const pre = await api(server, 'OPTIONS', `/whep/${room.code}`);
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.equal((await api(server, 'DELETE', pub.headers.get('location'))).status, 200);
  } finally {
    ws.close();
  }
});
