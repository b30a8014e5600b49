// The media model on a real node with one worker (so every room shares it):
// producers are keyed by SSRC within their room, subscribers get consumers
// with SSRCs of the node's own, a publish under an SSRC already used in the
// call is refused (ssrc_in_use) and changes nothing, and leaving removes only
// the leaver's producers. Media comes from build/sfu-loadgen (real ICE, DTLS,
// SRTP, RTCP sender reports); hand-written SDP drives the rest.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';

import { SFU_BIN, getMetrics, makeTempDir, metricValue, removeDir, sleep, startServer } from './lib.mjs';
import { api, closeAll, connect, register, roomWithMembers } from './ws-lib.mjs';

const LOADGEN_BIN = process.env.LOADGEN_BIN
  ? path.resolve(process.env.LOADGEN_BIN)
  : path.join(path.dirname(SFU_BIN), 'sfu-loadgen');
const FIXED_SSRC = 0x10000000; // --fixed-ssrc: + 16 * index in room + track (0 audio, 1 video)

// A load generator still running when this process exits (a test failed
// before waiting for it) is killed.
const liveLoadgens = new Set();
process.on('exit', () => {
  for (const p of liveLoadgens) p.kill('SIGKILL');
});

/**
 * Runs the load generator against server until it exits (killed after
 * timeoutMs, or by the returned promise's kill()). onStderr(line) sees its
 * progress lines as they come. Resolves {code, signal, summary (the parsed
 * JSON, or null), stdout, stderr}.
 */
function runLoadgen(server, args, { timeoutMs, onStderr = () => {} }) {
  const proc = spawn(LOADGEN_BIN, ['--url', server.url, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  liveLoadgens.add(proc);
  const done = new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let partial = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => {
      stderr += d;
      const parts = (partial + d).split('\n');
      partial = parts.pop();
      for (const l of parts) onStderr(l);
    });
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', (e) => {
      clearTimeout(timer);
      liveLoadgens.delete(proc);
      reject(e);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      liveLoadgens.delete(proc);
      let summary = null;
      try {
        summary = JSON.parse(stdout.trim().split('\n').pop());
      } catch {
        summary = null;
      }
      resolve({ code, signal, summary, stdout, stderr });
    });
  });
  done.kill = () => liveLoadgens.has(proc) && proc.kill('SIGKILL');
  return done;
}

function loadgenContext(r) {
  return `loadgen exit ${r.code} signal ${r.signal}\nstderr (tail): ${r.stderr.slice(-3000)}\nsummary: ${JSON.stringify(
    r.summary && { ...r.summary, histogram_us: undefined },
  )}`;
}

// ---- hand-written SDP ----

const fingerprint = () =>
  crypto
    .randomBytes(32)
    .toString('hex')
    .toUpperCase()
    .match(/../g)
    .join(':');

/**
 * A publish offer as a browser writes it: BUNDLE, rtcp-mux, ICE credentials,
 * a sha-256 fingerprint. sections: [{kind: 'audio'|'video', ssrc, direction}],
 * mids 0, 1, ...; a section that no longer sends is 'inactive' with no a=ssrc.
 */
function publishOffer(sections, ice = { ufrag: 'tst1', pwd: crypto.randomBytes(12).toString('hex'), fp: fingerprint() }) {
  const mids = sections.map((_, i) => String(i));
  const out = ['v=0', `o=- ${crypto.randomInt(1, 1e9)} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', `a=group:BUNDLE ${mids.join(' ')}`, 'a=msid-semantic: WMS s'];
  sections.forEach((s, i) => {
    const video = s.kind === 'video';
    const pt = video ? 96 : 111;
    out.push(
      `m=${s.kind} 9 UDP/TLS/RTP/SAVPF ${pt}`,
      'c=IN IP4 0.0.0.0',
      'a=rtcp:9 IN IP4 0.0.0.0',
      `a=ice-ufrag:${ice.ufrag}`,
      `a=ice-pwd:${ice.pwd}`,
      `a=fingerprint:sha-256 ${ice.fp}`,
      'a=setup:actpass',
      `a=mid:${mids[i]}`,
      'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
      `a=${s.direction ?? 'sendonly'}`,
      'a=rtcp-mux',
      'a=rtcp-rsize',
    );
    if (video) out.push(`a=rtpmap:${pt} VP8/90000`, `a=rtcp-fb:${pt} nack`, `a=rtcp-fb:${pt} nack pli`);
    else out.push(`a=rtpmap:${pt} opus/48000/2`, `a=fmtp:${pt} minptime=10;useinbandfec=1`);
    if (s.sim) {
      // Simulcast by SSRC: one a=ssrc per layer, lowest first.
      out.push(`a=msid:s t${i}`, `a=ssrc-group:SIM ${s.sim.join(' ')}`);
      for (const x of s.sim) out.push(`a=ssrc:${x} cname:x`, `a=ssrc:${x} msid:s t${i}`);
    } else if ((s.direction ?? 'sendonly') !== 'inactive') out.push(`a=msid:s t${i}`, `a=ssrc:${s.ssrc} cname:x`, `a=ssrc:${s.ssrc} msid:s t${i}`);
  });
  return { sdp: out.join('\r\n') + '\r\n', ice };
}

// The m-sections of an SDP: {kind, pt, mid, direction, ssrcs, extmaps, rtpmap}.
function sdpSections(sdp) {
  const sections = [];
  let cur = null;
  for (const line of sdp.split(/\r?\n/)) {
    if (line.startsWith('m=')) {
      const [kind, , , pt] = line.slice(2).split(' ');
      cur = { kind, pt, mid: null, direction: 'sendrecv', ssrcs: new Set(), extmaps: [], rtpmap: null };
      sections.push(cur);
    } else if (!cur) {
      continue;
    } else if (line.startsWith('a=mid:')) {
      cur.mid = line.slice(6);
    } else if (/^a=(sendonly|recvonly|sendrecv|inactive)$/.test(line)) {
      cur.direction = line.slice(2);
    } else if (line.startsWith('a=ssrc:')) {
      cur.ssrcs.add(Number(/^a=ssrc:(\d+)/.exec(line)[1]));
    } else if (line.startsWith('a=extmap:')) {
      cur.extmaps.push(line);
    } else if (line.startsWith(`a=rtpmap:${cur.pt} `)) {
      cur.rtpmap = line;
    }
  }
  return sections;
}

// The answer a receive-only client gives to a subscribe offer.
function subscribeAnswer(offerSdp) {
  const ice = { ufrag: 'tsb1', pwd: crypto.randomBytes(12).toString('hex'), fp: fingerprint() };
  const sections = sdpSections(offerSdp);
  const out = ['v=0', `o=- ${crypto.randomInt(1, 1e9)} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', `a=group:BUNDLE ${sections.map((s) => s.mid).join(' ')}`];
  for (const s of sections) {
    out.push(
      `m=${s.kind} 9 UDP/TLS/RTP/SAVPF ${s.pt}`,
      'c=IN IP4 0.0.0.0',
      `a=ice-ufrag:${ice.ufrag}`,
      `a=ice-pwd:${ice.pwd}`,
      `a=fingerprint:sha-256 ${ice.fp}`,
      'a=setup:active',
      `a=mid:${s.mid}`,
      ...s.extmaps,
      `a=${s.direction === 'sendonly' ? 'recvonly' : 'inactive'}`,
      'a=rtcp-mux',
      'a=rtcp-rsize',
    );
    if (s.rtpmap) out.push(s.rtpmap);
  }
  return out.join('\r\n') + '\r\n';
}

async function callJoin(client, roomId) {
  const reply = await client.request({ type: 'call_join', roomId });
  assert.equal(reply.type, 'call_joined', `call_join: ${JSON.stringify(reply)}`);
  return reply;
}

async function forwardedTotal(server) {
  return metricValue((await getMetrics(server)).samples, 'sfu_rtp_forwarded_total');
}

// sfu_rtp_forwarded_total per second over about ms.
async function forwardedRate(server, ms) {
  const a = await forwardedTotal(server);
  const t0 = performance.now();
  await sleep(ms);
  const b = await forwardedTotal(server);
  return ((b - a) * 1000) / (performance.now() - t0);
}

const mean = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;

// ---- the tests ----

test('same SSRC in two rooms on one worker stays apart', { timeout: 40000 }, async () => {
  const server = await startServer(); // --workers 1: both rooms live on worker 0
  try {
    const r = await runLoadgen(
      server,
      ['--rooms', '2', '--per-room', '3', '--fixed-ssrc', '--duration', '3', '--connect-timeout', '10', '--quiet',
        '--user-prefix', `mm${crypto.randomBytes(3).toString('hex')}`],
      { timeoutMs: 35000 },
    );
    const ctx = loadgenContext(r);
    assert.equal(r.code, 0, ctx);
    const s = r.summary;
    assert.ok(s, ctx);
    assert.equal(s.connected, 6, `every participant connected: ${ctx}`);
    assert.equal(s.failed, 0, ctx);
    // A node keying producers or consumers by SSRC alone sends one room's media to the other.
    assert.equal(s.foreign_packets, 0, `no packet from a publisher of another room: ${ctx}`);
    assert.equal(s.pairs.expected, 2 * 3 * 2 * 2, ctx); // rooms * subscribers * (2 publishers * 2 tracks)
    assert.equal(s.pairs.with_packets, s.pairs.expected, `every (subscriber, track) pair got packets: ${ctx}`);
    assert.ok(s.loss_pct < 5, `loss ${s.loss_pct}%: ${ctx}`);
    for (let sub = 0; sub < 6; sub++) {
      for (let pub = 0; pub < 6; pub++) {
        const sameRoom = Math.floor(sub / 3) === Math.floor(pub / 3);
        const got = s.received_matrix[sub][pub];
        if (!sameRoom) assert.equal(got, 0, `subscriber ${sub} got ${got} packets of publisher ${pub} of the other room`);
        else if (sub !== pub) assert.ok(got > 0, `subscriber ${sub} got packets of publisher ${pub}`);
      }
    }
    // Consumers carry SSRCs of the node's own, announced before use.
    assert.equal(s.publisher_ssrc_in_offers, 0, `no offer announced a publisher SSRC: ${ctx}`);
    assert.equal(s.unannounced_ssrc_packets, 0, ctx);
    // The publishers' SRs give the node the mapping it translates into its own.
    assert.ok(s.sender_reports.sent > 0, `the publishers sent SRs: ${ctx}`);
    assert.ok(s.sender_reports.received > 0, `subscribers got SRs from the node: ${ctx}`);
    assert.equal(s.sender_reports.unannounced, 0, ctx);
    assert.ok(s.sender_reports.announced_ssrcs >= s.pairs.expected, ctx);
    // One SR stream per consumer; a video consumer's RTX SSRC (also announced,
    // in its ssrc-group FID) carries retransmissions only, and no SR.
    assert.equal(s.sender_reports.ssrcs_with_sr, s.pairs.expected, `an SR under every consumer SSRC: ${ctx}`);
    assert.equal(s.sender_reports.announced_ssrcs, s.pairs.expected + s.pairs.expected / 2,
      `audio and video SSRCs, and an RTX SSRC per video consumer: ${ctx}`);
  } finally {
    await server.stop();
  }
});

test("republishing a peer's SSRC is refused and leaving leaves the peer's stream", { timeout: 60000 }, async () => {
  const server = await startServer();
  const dir = makeTempDir('sfu-mm-');
  let me = null;
  let run = null;
  try {
    const host = await register(server);
    const lgUsers = [await register(server), await register(server), await register(server)];
    const room = await roomWithMembers(server, host, lgUsers);
    const tokens = path.join(dir, 'tokens');
    fs.writeFileSync(tokens, lgUsers.map((u) => u.accessToken).join('\n') + '\n');

    // Three loadgen participants; participant 0 publishes FIXED_SSRC (audio) and FIXED_SSRC + 1 (video).
    let measuring;
    const measuringNow = new Promise((resolve) => (measuring = resolve));
    run = runLoadgen(
      server,
      ['--tokens', tokens, '--room-id', String(room.id), '--per-room', '3', '--fixed-ssrc', '--duration', '12', '--connect-timeout', '10'],
      { timeoutMs: 45000, onStderr: (l) => l.startsWith('loadgen: measure') && measuring() },
    );
    let timer;
    const started = await Promise.race([
      measuringNow.then(() => true),
      run.then(() => false),
      new Promise((resolve) => (timer = setTimeout(() => resolve(false), 20000))),
    ]).finally(() => clearTimeout(timer));
    if (!started) {
      const r = await Promise.race([run, sleep(100).then(() => null)]);
      assert.fail(`the loadgen never reached its measure phase: ${r ? loadgenContext(r) : 'still running'}`);
    }

    me = await connect(server, host.accessToken);
    await callJoin(me, room.id);
    const before = await forwardedRate(server, 2000);
    assert.ok(before > 300, `the loadgen's media is forwarded before the attempt: ${before.toFixed(0)} pkt/s`);

    // Participant 0's SSRCs, offered by someone else: refused, nothing changes.
    const taken = publishOffer([
      { kind: 'audio', ssrc: FIXED_SSRC },
      { kind: 'video', ssrc: FIXED_SSRC + 1 },
    ]);
    const refused = await me.request({ type: 'call_publish', roomId: room.id, sdp: taken.sdp });
    assert.equal(refused.type, 'error', `a taken SSRC is refused: ${JSON.stringify(refused)}`);
    assert.equal(refused.code, 'ssrc_in_use', JSON.stringify(refused));
    await me.expectNothing((m) => m.type === 'participant_updated' && m.participant.userId === me.userId, 300);
    // Fresh SSRCs: the test user becomes a real publisher of the call.
    const fresh = publishOffer(
      [
        { kind: 'audio', ssrc: 0x20000000 + crypto.randomInt(0, 0x1000000) * 2 },
        { kind: 'video', ssrc: 0x20000001 + crypto.randomInt(0, 0x1000000) * 2 },
      ],
      taken.ice,
    );
    const answer = await me.request({ type: 'call_publish', roomId: room.id, sdp: fresh.sdp });
    assert.equal(answer.type, 'call_publish_answer', `fresh SSRCs are accepted: ${JSON.stringify(answer).slice(0, 300)}`);
    assert.match(answer.sdp, /a=group:BUNDLE/);
    const left = await me.request({ type: 'call_leave', roomId: room.id });
    assert.equal(left.type, 'call_left', JSON.stringify(left));

    await sleep(500);
    const after = await forwardedRate(server, 2000);
    // Had the leave taken participant 0's producers along, a third of the streams would stop.
    assert.ok(
      after >= 0.85 * before,
      `forwarding went on after the leave: ${after.toFixed(0)} pkt/s against ${before.toFixed(0)} before`,
    );

    const r = await run;
    const ctx = loadgenContext(r);
    assert.equal(r.code, 0, ctx);
    const s = r.summary;
    assert.equal(s.failed, 0, ctx);
    assert.equal(s.pairs.expected, 3 * 2 * 2, ctx);
    assert.equal(s.pairs.with_packets, s.pairs.expected, `every (subscriber, track) pair got packets: ${ctx}`);
    assert.equal(s.foreign_packets, 0, ctx);
    assert.equal(s.unannounced_ssrc_packets, 0, ctx);
    // The loadgen's own count: its last seconds, well after the leave, carry as
    // much as its first (participant 0's two streams are a third of it).
    const rx = s.per_second.map((x) => x.rx_pps);
    assert.ok(rx.length >= 10, `per-second figures for the run: ${JSON.stringify(rx)}`);
    const early = mean(rx.slice(0, 2));
    const late = mean(rx.slice(-3));
    assert.ok(early > 0, `packets at the start: ${JSON.stringify(rx)}`);
    assert.ok(late >= 0.85 * early, `the last seconds carry as much as the first: ${JSON.stringify(rx)}`);
  } finally {
    run?.kill();
    await closeAll([me]);
    await server.stop();
    removeDir(dir);
  }
});

test('no subscribe offer contains a publisher\'s SSRC', { timeout: 30000 }, async () => {
  const server = await startServer();
  let a = null;
  let b = null;
  try {
    const ua = await register(server);
    const ub = await register(server);
    const room = await roomWithMembers(server, ua, [ub]);
    a = await connect(server, ua.accessToken);
    b = await connect(server, ub.accessToken);

    const audio = 0x30000000 + crypto.randomInt(0, 0x1000000) * 2;
    const video = audio + 1;
    const published = new Set([audio, video]);
    await callJoin(a, room.id);
    const first = publishOffer([
      { kind: 'audio', ssrc: audio },
      { kind: 'video', ssrc: video },
    ]);
    const ans1 = await a.request({ type: 'call_publish', roomId: room.id, sdp: first.sdp });
    assert.equal(ans1.type, 'call_publish_answer', JSON.stringify(ans1).slice(0, 300));

    await callJoin(b, room.id);
    const offer1 = await b.next('call_subscribe_offer');
    const s1 = sdpSections(offer1.sdp);
    const active1 = s1.filter((s) => s.direction === 'sendonly');
    assert.deepEqual(active1.map((s) => s.kind).sort(), ['audio', 'video'], `A's two tracks offered to B:\n${offer1.sdp}`);
    for (const s of active1) {
      assert.ok(s.ssrcs.size > 0, `section ${s.mid} announces its SSRC:\n${offer1.sdp}`);
      for (const x of s.ssrcs) assert.ok(!published.has(x), `offer announces the publisher's SSRC ${x}:\n${offer1.sdp}`);
      assert.ok(s.extmaps.length > 0, `section ${s.mid} has a=extmap lines:\n${offer1.sdp}`);
    }
    const consumerSsrcs = new Set(active1.flatMap((s) => [...s.ssrcs]));
    // Audio: one SSRC; video: its own and its RTX SSRC (a=ssrc-group:FID).
    assert.equal(consumerSsrcs.size, 3, `one SSRC per consumer, plus RTX for video:\n${offer1.sdp}`);
    const video1 = active1.find((s) => s.kind === 'video');
    assert.match(offer1.sdp, new RegExp(`a=ssrc-group:FID ${[...video1.ssrcs].join(' ')}`),
      `the video section pairs its SSRC with an RTX SSRC:\n${offer1.sdp}`);
    const videoMid = active1.find((s) => s.kind === 'video').mid;
    b.send({ type: 'call_subscribe_answer', roomId: room.id, version: offer1.version, sdp: subscribeAnswer(offer1.sdp) });

    // A stops its camera: same transport, the video section no longer sends.
    const second = publishOffer(
      [
        { kind: 'audio', ssrc: audio },
        { kind: 'video', ssrc: video, direction: 'inactive' },
      ],
      first.ice,
    );
    const ans2 = await a.request({ type: 'call_publish', roomId: room.id, sdp: second.sdp });
    assert.equal(ans2.type, 'call_publish_answer', JSON.stringify(ans2).slice(0, 300));
    const offer2 = await b.next((m) => m.type === 'call_subscribe_offer' && m.version > offer1.version);
    const s2 = sdpSections(offer2.sdp);
    const v2 = s2.find((s) => s.mid === videoMid);
    assert.ok(v2, `the video section keeps its place (mid ${videoMid}):\n${offer2.sdp}`);
    assert.equal(v2.direction, 'inactive', `the removed track's section is inactive:\n${offer2.sdp}`);
    assert.equal(v2.ssrcs.size, 0, `an inactive section announces no SSRC:\n${offer2.sdp}`);
    const a2 = s2.filter((s) => s.direction === 'sendonly');
    assert.deepEqual(a2.map((s) => s.kind), ['audio'], `only the audio track still offered:\n${offer2.sdp}`);
    assert.ok(a2[0].extmaps.length > 0, `a=extmap lines:\n${offer2.sdp}`);
    b.send({ type: 'call_subscribe_answer', roomId: room.id, version: offer2.version, sdp: subscribeAnswer(offer2.sdp) });

    // Every offer B got, not just the two waited for, names none of A's SSRCs.
    await sleep(200);
    const offers = b.received.filter((m) => m.type === 'call_subscribe_offer');
    assert.ok(offers.length >= 2);
    for (const o of offers) {
      for (const s of sdpSections(o.sdp)) {
        for (const x of s.ssrcs) assert.ok(!published.has(x), `offer v${o.version} announces the publisher's SSRC ${x}:\n${o.sdp}`);
      }
    }
    const errors = b.received.filter((m) => m.type === 'error');
    assert.deepEqual(errors, [], 'the node took both subscribe answers');
  } finally {
    await closeAll([a, b]);
    await server.stop();
  }
});

test('simulcast by SSRC group: one section per track; call_set_layers checks what it is given', { timeout: 30000 }, async () => {
  const server = await startServer();
  const clients = [];
  try {
    const [ua, ub, uc] = [await register(server), await register(server), await register(server)];
    const room = await roomWithMembers(server, ua, [ub, uc]);
    const [a, b, c] = [await connect(server, ua.accessToken), await connect(server, ub.accessToken), await connect(server, uc.accessToken)];
    clients.push(a, b, c);
    const base = 0x40000000 + crypto.randomInt(0, 0x1000000) * 8;
    const sim = [base + 1, base + 2, base + 3];
    await callJoin(a, room.id);
    const ans = await a.request({ type: 'call_publish', roomId: room.id,
      sdp: publishOffer([{ kind: 'audio', ssrc: base }, { kind: 'video', sim }]).sdp });
    assert.equal(ans.type, 'call_publish_answer', JSON.stringify(ans).slice(0, 300));

    await callJoin(b, room.id);
    const offer = await b.next('call_subscribe_offer');
    const video = sdpSections(offer.sdp).filter((x) => x.kind === 'video' && x.direction === 'sendonly');
    assert.equal(video.length, 1, `three layers, one section:\n${offer.sdp}`);
    for (const x of video[0].ssrcs) assert.ok(!sim.includes(x), `no layer SSRC offered:\n${offer.sdp}`);
    const producerId = Number(/a=msid:u\d+-camera t(\d+)/.exec(offer.sdp)[1]);
    b.send({ type: 'call_subscribe_answer', roomId: room.id, version: offer.version, sdp: subscribeAnswer(offer.sdp) });

    // Malformed requests: an error each, nothing applied.
    for (const [tracks, why] of [
      [undefined, 'no tracks'], [{}, 'not an array'], [[{ maxLayer: 0 }], 'no producerId'],
      [[{ producerId, maxLayer: 3 }], 'layer out of range'], [[{ producerId, height: 0 }], 'height 0'],
      [[{ producerId, paused: 'yes' }], 'paused not boolean'], [[{ producerId: '1' }], 'producerId a string'],
      [Array.from({ length: 65 }, () => ({ producerId })), 'too many'],
    ]) {
      const r = await b.request({ type: 'call_set_layers', roomId: room.id, ...(tracks === undefined ? {} : { tracks }) });
      assert.equal(r.type, 'error', `${why}: ${JSON.stringify(r)}`);
      assert.equal(r.code, 'invalid_field', `${why}: ${JSON.stringify(r)}`);
    }
    const unknown = await b.request({ type: 'call_set_layers', roomId: room.id, tracks: [{ producerId: 987654321 }, { producerId, maxLayer: 0 }] });
    assert.equal(unknown.code, 'not_found', JSON.stringify(unknown));
    assert.match(unknown.message, /987654321/);
    for (const t of [{ producerId, maxLayer: 0 }, { producerId, height: 180 }, { producerId, paused: true }, { producerId, paused: false }]) {
      const ok = await b.request({ type: 'call_set_layers', roomId: room.id, tracks: [t] });
      assert.equal(ok.type, 'call_layers_set', `${JSON.stringify(t)}: ${JSON.stringify(ok)}`);
    }
    // Someone not in the call.
    const outside = await c.request({ type: 'call_set_layers', roomId: room.id, tracks: [{ producerId, maxLayer: 0 }] });
    assert.equal(outside.type, 'error', JSON.stringify(outside));

    // A layer SSRC is the call's: another publisher cannot take it.
    await callJoin(c, room.id);
    const clash = await c.request({ type: 'call_publish', roomId: room.id,
      sdp: publishOffer([{ kind: 'video', sim: [base + 5, sim[1]] }]).sdp });
    assert.equal(clash.code, 'ssrc_in_use', JSON.stringify(clash));
  } finally {
    await closeAll(clients);
    await server.stop();
  }
});

test('republishing over and over reuses the subscribers\' ended sections: offers stay small', { timeout: 60000 }, async () => {
  const server = await startServer();
  let sub = null;
  let pub = null;
  let other = null;
  try {
    const host = await register(server);
    const peer = await register(server);
    const room = await roomWithMembers(server, host, [peer]);
    sub = await connect(server, host.accessToken);
    pub = await connect(server, peer.accessToken);
    await callJoin(sub, room.id);
    await callJoin(pub, room.id);
    const ice = publishOffer([]).ice;
    const REPUBLISHES = 140;
    let last = null;
    for (let k = 0; k < REPUBLISHES; k++) {
      // New SSRCs each time: the old producers end, new ones start.
      const base = 0x30000000 + k * 2;
      const offer = publishOffer([{ kind: 'audio', ssrc: base }, { kind: 'video', ssrc: base + 1 }], ice);
      const answer = await pub.request({ type: 'call_publish', roomId: room.id, sdp: offer.sdp });
      assert.equal(answer.type, 'call_publish_answer', `republish ${k}: ${JSON.stringify(answer).slice(0, 300)}`);
      last = await sub.next((m) => m.type === 'call_subscribe_offer', 5000);
      sub.send({ type: 'call_subscribe_answer', roomId: room.id, version: last.version, sdp: subscribeAnswer(last.sdp) });
    }
    await sub.expectNothing((m) => m.type === 'error', 200);
    const sections = sdpSections(last.sdp);
    const live = sections.filter((s) => s.direction === 'sendonly');
    assert.equal(live.length, 2, `the two live tracks are offered: ${sections.length} sections`);
    assert.deepEqual(live.map((s) => s.kind).sort(), ['audio', 'video']);
    // Two live sections plus at most the two that ended in the last round.
    assert.ok(sections.length <= 4, `the offer keeps a bounded number of sections: ${sections.length} after ${REPUBLISHES} republishes`);
    assert.equal(new Set(sections.map((s) => s.mid)).size, sections.length, 'mids stay unique');
    // A third participant's tracks still come to the same session.
    const third = await register(server);
    const joined = await api(server, 'POST', `/api/rooms/${room.code}/join`, { token: third.accessToken });
    assert.equal(joined.status, 200, joined.text);
    other = await connect(server, third.accessToken);
    await callJoin(other, room.id);
    const o = publishOffer([{ kind: 'audio', ssrc: 0x3f000000 }, { kind: 'video', ssrc: 0x3f000001 }]);
    const a = await other.request({ type: 'call_publish', roomId: room.id, sdp: o.sdp });
    assert.equal(a.type, 'call_publish_answer', JSON.stringify(a).slice(0, 300));
    const next = await sub.next((m) => m.type === 'call_subscribe_offer', 5000);
    const now = sdpSections(next.sdp);
    assert.equal(now.filter((s) => s.direction === 'sendonly').length, 4, `both publishers' tracks are offered: ${now.length} sections`);
    assert.ok(now.length <= 4, `the newcomer's tracks reuse the ended sections: ${now.length} sections`);
  } finally {
    await closeAll([sub, pub, other]);
    await server.stop();
  }
});
