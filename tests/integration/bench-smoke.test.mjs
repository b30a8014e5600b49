// The bench harness itself: a short room-10 run (5 s, 4 participants) through
// bench/run against a fresh node. Its figures are not asserted; what is: the
// report exists with the keys other tools read, every subscriber received
// packets from every publisher, and no SRTP packet failed authentication.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO_ROOT, SFU_BIN, makeTempDir, removeDir, runTool } from './lib.mjs';

const RUN = path.join(REPO_ROOT, 'bench', 'run');

const runBench = (args, timeoutMs) => runTool(RUN, args, { env: { SFU_BIN }, timeoutMs });

test('bench/run room-10 smoke: every subscriber hears every publisher, no SRTP auth failure', { timeout: 50000 }, async () => {
  const out = makeTempDir('sfu-bench-smoke-');
  try {
    const r = await runBench(['room-10', '--duration', '5', '--participants', '4', '--out', out, '--quiet'], 45000);
    const ctx = `exit ${r.code} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-4000)}`;
    assert.equal(r.code, 0, ctx);
    for (const f of ['report.json', 'report.txt', 'report.svg']) {
      assert.ok(fs.existsSync(path.join(out, f)), `${f} written: ${ctx}`);
    }
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    for (const k of ['scenario', 'target', 'duration_s', 'participants', 'latency_us', 'baseline_latency_us',
      'forwarded_pps', 'forwarded_bps', 'loss_pct', 'cpu_s_per_mpkt', 'rss_kib_per_participant', 'connect_ms',
      'srtp_profile', 'machine']) {
      assert.ok(k in rep, `report.json has ${k}`);
    }
    for (const k of ['p50', 'p99', 'p999']) assert.equal(typeof rep.latency_us[k], 'number', `latency_us.${k}`);
    for (const k of ['cores', 'cpu', 'kernel']) assert.ok(rep.machine[k], `machine.${k}`);
    assert.equal(rep.scenario, 'room-10');
    assert.equal(rep.target, 'sfu');
    assert.equal(rep.participants, 4);
    assert.equal(rep.failed, 0, 'no participant failed');
    // received_matrix[subscriber][publisher]: packets of that publisher's tracks.
    const m = rep.received_matrix;
    assert.equal(m.length, 4);
    for (let sub = 0; sub < 4; sub++) {
      for (let pub = 0; pub < 4; pub++) {
        if (sub !== pub) assert.ok(m[sub][pub] > 0, `subscriber ${sub} received packets from publisher ${pub}: ${JSON.stringify(m)}`);
      }
    }
    assert.equal(rep.pairs.with_packets, rep.pairs.expected, 'every (subscriber, track) pair got packets');
    assert.equal(rep.srtp_auth_failures.loadgen, 0, 'no SRTP auth failure at the participants');
    assert.equal(rep.srtp_auth_failures.node, 0, 'no SRTP auth failure at the node');
  } finally {
    removeDir(out);
  }
});

// Simulcast through the same harness: four participants publish three video
// layers each (a=ssrc-group:SIM); subscriber i asks for at most layer
// 0, 2, (nothing), 1. The load generator marks every payload with its layer,
// so the report says which layers each subscriber got: in the measured
// window exactly the one it asked for (the top one when it asked nothing),
// all under SSRCs the node announced.
test('bench/run simulcast smoke: each subscriber receives the layer it asked for', { timeout: 60000 }, async () => {
  const out = makeTempDir('sfu-bench-simulcast-');
  try {
    const r = await runBench(['room-10-simulcast', '--duration', '4', '--participants', '4',
      '--prefer-layer', '0,2,-,1', '--out', out, '--quiet'], 55000);
    const ctx = `exit ${r.code} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-4000)}`;
    assert.equal(r.code, 0, ctx);
    const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
    const detail = JSON.stringify(rep.simulcast);
    assert.equal(rep.scenario, 'room-10-simulcast');
    assert.equal(rep.failed, 0, 'no participant failed');
    // Each subscriber has 3 publishers with audio and video: 6 pairs, a
    // simulcast video counting once whatever its layers.
    assert.equal(rep.pairs.expected, 4 * 3 * 2);
    assert.equal(rep.pairs.with_packets, rep.pairs.expected, 'every (subscriber, track) pair got packets');
    const sim = rep.simulcast;
    assert.ok(sim, 'the report has the simulcast figures');
    assert.equal(sim.layers, 3);
    assert.equal(sim.set_layers_acked, sim.set_layers_sent, `every call_set_layers acknowledged: ${detail}`);
    assert.ok(sim.set_layers_sent >= 3, `the three subscribers with a preference asked: ${detail}`);
    const want = [0, 2, 2, 1];
    assert.deepEqual(sim.subscribers.map((s) => s.prefer_layer), [0, 2, null, 1]);
    sim.subscribers.forEach((s, i) => {
      assert.equal(s.pairs, 3, `subscriber ${i} receives 3 simulcast videos`);
      s.in_window_by_layer.forEach((n, layer) => {
        if (layer === want[i]) assert.ok(n > 0, `subscriber ${i} received layer ${layer}: ${detail}`);
        else assert.equal(n, 0, `subscriber ${i} received no layer ${layer} packet in the window: ${detail}`);
      });
      assert.equal(s.pairs_on_wanted_layer, 3, `subscriber ${i}: every video on layer ${want[i]} only: ${detail}`);
    });
    // The lowest layer is a sixteenth of the top's bitrate in smaller packets
    // at the same frame rate: fewer packets than the top layer's.
    const low = sim.subscribers[0].in_window_by_layer[0];
    const top = sim.subscribers[1].in_window_by_layer[2];
    assert.ok(low < top, `layer 0 (${low} packets) is smaller than layer 2 (${top})`);
    assert.equal(rep.wire.foreign_packets, 0, 'no foreign packet');
    assert.equal(rep.wire.unannounced_ssrc_packets, 0, 'every layer went out under the consumer SSRC announced');
    assert.equal(rep.wire.publisher_ssrc_in_offers, 0, 'no layer SSRC of a publisher announced to subscribers');
    // The node starts a consumer on one layer and moves to the wanted one
    // (during the join): numbering under the consumer's SSRC runs on.
    assert.deepEqual(rep.wire.rtp_jumps, { seq: 0, ts: 0 }, `no RTP sequence or timestamp jump: ${JSON.stringify(rep.wire)}`);
    assert.equal(rep.srtp_auth_failures.loadgen, 0, 'no SRTP auth failure at the participants');
    assert.equal(rep.srtp_auth_failures.node, 0, 'no SRTP auth failure at the node');
  } finally {
    removeDir(out);
  }
});
// The two ceilings: the null forwarder with SRTP and without (--target
// null-bare, where every leg shares one key and packets pass untouched).
for (const target of ['null', 'null-bare']) {
  test(`bench/run room-10 --target ${target}: every subscriber hears every publisher`, { timeout: 50000 }, async () => {
    const out = makeTempDir('sfu-bench-smoke-');
    try {
      const r = await runBench(['room-10', '--duration', '3', '--participants', '4', '--target', target, '--out', out, '--quiet'], 45000);
      const ctx = `exit ${r.code} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-4000)}`;
      assert.equal(r.code, 0, ctx);
      const rep = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8'));
      assert.equal(rep.target, target);
      assert.equal(rep.failed, 0, 'no participant failed');
      const m = rep.received_matrix;
      for (let sub = 0; sub < 4; sub++) {
        for (let pub = 0; pub < 4; pub++) {
          if (sub !== pub) assert.ok(m[sub][pub] > 0, `subscriber ${sub} received packets from publisher ${pub}: ${JSON.stringify(m)}`);
        }
      }
      assert.equal(rep.srtp_auth_failures.loadgen, 0, 'no SRTP auth failure at the participants');
    } finally {
      removeDir(out);
    }
  });
}
