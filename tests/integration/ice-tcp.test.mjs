// ICE over TCP (RFC 6544, RFC 4571 framing) on a real node: the publish
// answer carries a passive TCP candidate beside the UDP one, at lower
// priority; a connectivity check framed on a TCP connection is answered on
// it, however the stream splits or joins the frames; a connection that sends
// garbage, an oversized frame or nothing at all is closed while a checked
// one next to it keeps working; unchecked connections are capped.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import net from 'node:net';
import test from 'node:test';
import zlib from 'node:zlib';

import { HOST, getMetrics, metricValue, sleep, startServer, withTimeout } from './lib.mjs';
import { closeAll, connect, register, roomWithMembers } from './ws-lib.mjs';

const MAGIC = 0x2112a442;

// A publish offer as a browser writes it, one audio section.
function audioOffer(ssrc) {
  const fp = crypto.randomBytes(32).toString('hex').toUpperCase().match(/../g).join(':');
  return [
    'v=0', `o=- ${crypto.randomInt(1, 1e9)} 2 IN IP4 127.0.0.1`, 's=-', 't=0 0', 'a=group:BUNDLE 0',
    'a=msid-semantic: WMS s', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
    'a=ice-ufrag:tcpt', `a=ice-pwd:${crypto.randomBytes(12).toString('hex')}`, `a=fingerprint:sha-256 ${fp}`,
    'a=setup:actpass', 'a=mid:0', 'a=sendonly', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2',
    `a=msid:s t0`, `a=ssrc:${ssrc} cname:x`,
  ].join('\r\n') + '\r\n';
}

function attr(type, value) {
  const pad = (4 - (value.length % 4)) % 4;
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc(pad)]);
}

// An ICE Binding request (RFC 8445 7.2.2) with USERNAME, PRIORITY,
// ICE-CONTROLLING, MESSAGE-INTEGRITY and FINGERPRINT (RFC 5389 15.4, 15.5).
function bindingRequest(ufrag, pwd, txid = crypto.randomBytes(12)) {
  const tie = crypto.randomBytes(8);
  let attrs = Buffer.concat([
    attr(0x0006, Buffer.from(`${ufrag}:tcpt`)),
    attr(0x0024, Buffer.from([0x6e, 0x7f, 0x1e, 0xff])),
    attr(0x802a, tie),
  ]);
  const header = (len) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(0x0001, 0);
    h.writeUInt16BE(len, 2);
    h.writeUInt32BE(MAGIC, 4);
    txid.copy(h, 8);
    return h;
  };
  const mi = crypto.createHmac('sha1', pwd).update(Buffer.concat([header(attrs.length + 24), attrs])).digest();
  attrs = Buffer.concat([attrs, attr(0x0008, mi)]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE((zlib.crc32(Buffer.concat([header(attrs.length + 8), attrs])) ^ 0x5354554e) >>> 0);
  attrs = Buffer.concat([attrs, attr(0x8028, crc)]);
  return { txid, msg: Buffer.concat([header(attrs.length), attrs]) };
}

const frame = (msg) => Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);

// A TCP connection that collects RFC 4571 frames and notices its close.
function tcpClient(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: HOST, port });
    const c = { sock, frames: [], closed: false, buf: Buffer.alloc(0), waiters: [] };
    sock.on('data', (d) => {
      c.buf = Buffer.concat([c.buf, d]);
      while (c.buf.length >= 2 && c.buf.length >= 2 + c.buf.readUInt16BE(0)) {
        const n = c.buf.readUInt16BE(0);
        c.frames.push(c.buf.subarray(2, 2 + n));
        c.buf = c.buf.subarray(2 + n);
      }
      c.waiters.forEach((w) => w());
    });
    c.done = new Promise((r) => sock.on('close', () => {
      c.closed = true;
      c.waiters.forEach((w) => w());
      r();
    }));
    sock.on('error', () => {});
    sock.once('connect', () => resolve(c));
    sock.once('error', reject);
  });
}

// Resolves with the next STUN frame answering txid.
function responseTo(c, txid, ms = 3000) {
  return withTimeout(new Promise((resolve, reject) => {
    const check = () => {
      const i = c.frames.findIndex((f) => f.length >= 20 && f.subarray(8, 20).equals(txid));
      if (i >= 0) return resolve(c.frames.splice(i, 1)[0]);
      if (c.closed) reject(new Error('connection closed before the response'));
    };
    c.waiters.push(check);
    check();
  }), ms, 'STUN response over TCP');
}

// The XOR-MAPPED-ADDRESS port of a Binding success response.
function mappedPort(resp) {
  for (let off = 20; off + 4 <= resp.length;) {
    const type = resp.readUInt16BE(off);
    const len = resp.readUInt16BE(off + 2);
    if (type === 0x0020) return resp.readUInt16BE(off + 6) ^ (MAGIC >>> 16);
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  return null;
}

async function publishedLeg(server) {
  const u = await register(server);
  const room = await roomWithMembers(server, u, []);
  const ws = await connect(server, u.accessToken);
  const joined = await ws.request({ type: 'call_join', roomId: room.id });
  assert.equal(joined.type, 'call_joined', JSON.stringify(joined));
  const ans = await ws.request({ type: 'call_publish', roomId: room.id, sdp: audioOffer(0x40000000 + crypto.randomInt(0, 1e6)) });
  assert.equal(ans.type, 'call_publish_answer', JSON.stringify(ans).slice(0, 300));
  return { ws, sdp: ans.sdp, ufrag: /a=ice-ufrag:(\S+)/.exec(ans.sdp)[1], pwd: /a=ice-pwd:(\S+)/.exec(ans.sdp)[1] };
}

test('the answer offers a passive TCP candidate below the UDP one; checks over TCP are answered', { timeout: 30000 }, async () => {
  const server = await startServer();
  let leg;
  const conns = [];
  try {
    leg = await publishedLeg(server);
    const cands = [...leg.sdp.matchAll(/a=candidate:\S+ 1 (udp|tcp) (\d+) (\S+) (\d+) typ host(.*)/g)];
    const udp = cands.find((m) => m[1] === 'udp');
    const tcp = cands.find((m) => m[1] === 'tcp');
    assert.ok(udp && tcp, `UDP and TCP candidates:\n${leg.sdp}`);
    assert.match(tcp[5], /tcptype passive/);
    assert.equal(tcp[4], String(server.rtcPort ?? udp[4]), 'TCP on the --rtc-port number by default');
    assert.ok(Number(tcp[2]) < Number(udp[2]), `TCP priority ${tcp[2]} below UDP ${udp[2]}`);
    const port = Number(tcp[4]);

    // A check, then one split byte by byte, then two in one write.
    const c = await tcpClient(port);
    conns.push(c);
    const a = bindingRequest(leg.ufrag, leg.pwd);
    c.sock.write(frame(a.msg));
    const ra = await responseTo(c, a.txid);
    assert.equal(ra.readUInt16BE(0), 0x0101, 'Binding success');
    assert.equal(mappedPort(ra), c.sock.localPort, 'XOR-MAPPED-ADDRESS is our TCP port');
    const b = bindingRequest(leg.ufrag, leg.pwd);
    for (const byte of frame(b.msg)) {
      c.sock.write(Buffer.from([byte]));
    }
    assert.equal((await responseTo(c, b.txid)).readUInt16BE(0), 0x0101);
    const d1 = bindingRequest(leg.ufrag, leg.pwd);
    const d2 = bindingRequest(leg.ufrag, leg.pwd);
    c.sock.write(Buffer.concat([frame(d1.msg), frame(d2.msg)]));
    await responseTo(c, d1.txid);
    await responseTo(c, d2.txid);
    // A wrong password is answered 401 on an owned connection, which stays.
    const bad = bindingRequest(leg.ufrag, 'not-the-password');
    c.sock.write(frame(bad.msg));
    assert.equal((await responseTo(c, bad.txid)).readUInt16BE(0), 0x0111, '401 error response');
    assert.equal(c.closed, false);
  } finally {
    for (const c of conns) c.sock.destroy();
    if (leg) await closeAll([leg.ws]);
    assert.equal(await server.stop(), 0, server.stderr());
  }
});

test('garbage, oversized frames and silence close a TCP connection; a checked one beside them keeps working', { timeout: 60000 }, async () => {
  const server = await startServer();
  let leg;
  const conns = [];
  try {
    leg = await publishedLeg(server);
    const port = Number(/a=candidate:\S+ 1 tcp \d+ \S+ (\d+) typ host/.exec(leg.sdp)[1]);
    const good = await tcpClient(port);
    conns.push(good);
    const first = bindingRequest(leg.ufrag, leg.pwd);
    good.sock.write(frame(first.msg));
    await responseTo(good, first.txid);

    const t0 = Date.now();
    // Framed bytes that are not STUN before any check passed.
    const garbage = await tcpClient(port);
    conns.push(garbage);
    garbage.sock.write(frame(crypto.randomBytes(200).fill(0x55, 0, 1)));
    // A frame longer than anything the node takes.
    const huge = await tcpClient(port);
    conns.push(huge);
    huge.sock.write(Buffer.from([0xff, 0xff, 0x00, 0x01]));
    // A check for a ufrag nobody has.
    const stranger = await tcpClient(port);
    conns.push(stranger);
    stranger.sock.write(frame(bindingRequest('nobody', 'x'.repeat(22)).msg));
    for (const [name, c] of [['garbage', garbage], ['oversized', huge], ['unknown ufrag', stranger]]) {
      await withTimeout(c.done, 3000, `the ${name} connection to be closed`);
    }
    assert.ok(Date.now() - t0 < 3000);

    // Silence, and half a frame: closed after the unchecked deadline (10 s).
    const silent = await tcpClient(port);
    const half = await tcpClient(port);
    conns.push(silent, half);
    half.sock.write(frame(bindingRequest(leg.ufrag, leg.pwd).msg).subarray(0, 30));
    const t1 = Date.now();
    await withTimeout(Promise.all([silent.done, half.done]), 20000, 'stalled connections to be closed');
    const stalledMs = Date.now() - t1;
    assert.ok(stalledMs >= 8000 && stalledMs <= 13000, `stalled connections closed after ${stalledMs} ms`);

    // The checked connection was not touched: still open, still answered.
    assert.equal(good.closed, false);
    const again = bindingRequest(leg.ufrag, leg.pwd);
    good.sock.write(frame(again.msg));
    assert.equal((await responseTo(good, again.txid)).readUInt16BE(0), 0x0101);

    const { samples } = await getMetrics(server);
    assert.ok(metricValue(samples, 'sfu_tcp_bad_total') >= 3, 'bad connections counted');
    assert.ok(metricValue(samples, 'sfu_tcp_timed_out_total') >= 2, 'timed-out connections counted');
    assert.ok(metricValue(samples, 'sfu_tcp_accepted_total') >= 6);
  } finally {
    for (const c of conns) c.sock.destroy();
    if (leg) await closeAll([leg.ws]);
    assert.equal(await server.stop(), 0, server.stderr());
  }
});

test('unchecked TCP connections are capped; the node keeps serving', { timeout: 40000 }, async () => {
  const server = await startServer();
  let leg;
  const conns = [];
  try {
    leg = await publishedLeg(server);
    const port = Number(/a=candidate:\S+ 1 tcp \d+ \S+ (\d+) typ host/.exec(leg.sdp)[1]);
    for (let i = 0; i < 80; i++) conns.push(await tcpClient(port));
    await sleep(1000);
    const closed = conns.filter((c) => c.closed).length;
    assert.ok(closed >= 80 - 64, `${closed} of 80 unchecked connections closed at once (cap 64)`);
    assert.ok(closed < 80, 'connections under the cap stay for their deadline');
    const { samples } = await getMetrics(server);
    assert.ok(metricValue(samples, 'sfu_tcp_refused_total') >= 16);
    // Once they are gone a new connection passes its check as before.
    for (const c of conns) c.sock.destroy();
    await sleep(300);
    const c = await tcpClient(port);
    conns.push(c);
    const req = bindingRequest(leg.ufrag, leg.pwd);
    c.sock.write(frame(req.msg));
    assert.equal((await responseTo(c, req.txid)).readUInt16BE(0), 0x0101);
  } finally {
    for (const c of conns) c.sock.destroy();
    if (leg) await closeAll([leg.ws]);
    assert.equal(await server.stop(), 0, server.stderr());
  }
});
