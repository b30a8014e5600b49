// Garbage on the media port: every datagram is dropped and counted, the node
// keeps serving.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import test from 'node:test';

import { HOST, sleep, startServer } from './lib.mjs';

async function metric(server, name) {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} missing from /metrics`);
  return Number(m[1]);
}

/* Datagrams of every shape the demux sees: STUN-, DTLS- and RTP-looking
 * first bytes, truncated headers, random bytes, empty and maximal sizes. */
function garbage() {
  const out = [Buffer.alloc(0), Buffer.alloc(1), Buffer.alloc(65000, 0x80)];
  const firsts = [0x00, 0x01, 0x03, 0x14, 0x16, 0x17, 0x3f, 0x40, 0x7f, 0x80, 0x90, 0xbf, 0xc0, 0xff];
  for (const b of firsts) {
    for (const len of [1, 2, 4, 12, 13, 20, 28, 100, 1200]) {
      const buf = crypto.randomBytes(len);
      buf[0] = b;
      out.push(buf);
    }
  }
  // A STUN Binding request header with a length running past the datagram.
  const stun = Buffer.alloc(20);
  stun.writeUInt16BE(0x0001, 0);
  stun.writeUInt16BE(400, 2);
  stun.writeUInt32BE(0x2112a442, 4);
  out.push(stun);
  return out;
}

test('garbage UDP is dropped and counted; the node keeps serving', async () => {
  const server = await startServer();
  try {
    const before = await metric(server, 'sfu_udp_rx_packets_total');
    const sock = dgram.createSocket('udp4');
    const datagrams = garbage();
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < datagrams.length; i++) {
        await new Promise((r) => sock.send(datagrams[i], server.rtcPort, HOST, r));
        if (i % 10 === 9) await sleep(2); // paced: the kernel's receive buffer is not under test
      }
    }
    const sent = datagrams.length * 5;
    // Loopback delivers these; give the worker a moment to count them.
    let seen = 0;
    for (let i = 0; i < 40 && seen < sent; i++) {
      await sleep(50);
      seen = (await metric(server, 'sfu_udp_rx_packets_total')) - before;
    }
    sock.close();
    assert.ok(seen >= sent * 0.5, `the worker saw ${seen} of ${sent} datagrams`);
    const dropped = (await metric(server, 'sfu_udp_rx_dropped_total')) + (await metric(server, 'sfu_stun_rejected_total'));
    assert.ok(dropped >= seen, `dropped ${dropped} of ${seen}`);
    assert.equal(await metric(server, 'sfu_udp_tx_packets_total'), 0, 'nothing answered garbage');
    assert.equal(await metric(server, 'sfu_transports'), 0);
    const health = await fetch(`${server.url}/api/health`);
    assert.equal(health.status, 200);
  } finally {
    assert.equal(await server.stop(), 0, server.stderr().slice(-2000));
  }
});
