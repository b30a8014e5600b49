// Browser end-to-end on a bad network: two Chromium pages call through the
// node inside a network namespace with nftables impairing UDP. (1) 5 % of
// every datagram dropped on arrival, both ways (browser to node and node to
// browser), judged by the browsers' own getStats
// against what the other page encoded and the same call without loss: NACKs
// sent and retransmissions received, nearly every frame decoded, next to no
// freezing. (2) One
// subscriber's downlink policed to 400 kbit/s: the node's estimate from that
// subscriber's transport-cc feedback reaches the publisher as REMB and its
// encoder target falls below the link; the subscriber's video keeps going.
// Needs root (unshare -n, nft).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'node:test';

import { REPO_ROOT, SFU_BIN } from '../integration/lib.mjs';

const SECONDS = 30;
const canImpair = process.getuid?.() === 0 &&
  spawnSync('unshare', ['-n', 'nft', 'list', 'ruleset']).status === 0;

/* One call in a fresh namespace; resolves with what netns-call.mjs printed. */
function call(loss, extra = [], seconds = SECONDS) {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', process.execPath, path.join(REPO_ROOT, 'tests/e2e/netns-call.mjs'),
      '--loss', String(loss), '--seconds', String(seconds), ...extra], {
      env: { ...process.env, SFU_BIN }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), (SECONDS + 170) * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`netns-call --loss ${loss} exited ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(line));
    });
  });
}

test('5 % UDP loss both ways: NACK and RTX keep the picture moving', {
  timeout: 2 * (SECONDS + 180) * 1000,
  skip: canImpair ? false : 'needs root with unshare and nft (tools/deps.sh installs nftables)',
}, async () => {
  const clean = await call(0);
  const lossy = await call(5);
  console.log(`# without loss: ${JSON.stringify(clean)}`);
  console.log(`# with 5 % loss: ${JSON.stringify(lossy)}`);
  for (let i = 0; i < 2; i++) {
    const c = clean.subscribers[i];
    const l = lossy.subscribers[i];
    assert.ok(c.fps > 5, `page ${i} decodes video without loss (${c.fps.toFixed(1)} fps)`);
    assert.ok(l.lost > 0, `page ${i} lost packets (${l.lost}): the impairment works`);
    assert.ok(l.nackCount > 0, `page ${i} sent NACKs (${l.nackCount})`);
    assert.ok(l.retransmitted > 0, `page ${i} received retransmissions (${l.retransmitted})`);
    // Most frames the other page encoded are decoded despite the loss. What
    // is lost: a packet lost on the way to the node, then on the way on, is
    // one frame late twice over; a small frame's last packet is missed only
    // when the next frame comes (70-85 % of frames decoded, 16-18 of 20 fps,
    // in most runs; 94 % with loss on the way out of the node only). The
    // encoder's rate may differ between the runs, so the clean run bounds it
    // only loosely.
    assert.ok(l.fps >= 0.7 * l.sentFps,
      `page ${i}: decoded ${l.fps.toFixed(1)} fps of ${l.sentFps.toFixed(1)} fps encoded by the other page`);
    assert.ok(l.fps >= 0.6 * c.fps, `page ${i}: ${l.fps.toFixed(1)} fps with loss, ${c.fps.toFixed(1)} without`);
    // Freezes (Chromium's: a frame over 3 frame times late) summed up to
    // 1.24 s of the 30 s window on an idle machine, up to 1.57 s with another
    // browser suite on the same two cores: a repair that comes one retry late
    // (a subscribe-only Chromium's 100 ms default round trip) is one.
    assert.ok(l.freezeS <= 0.08 * lossy.windowS, `page ${i} froze ${l.freezeS} s of ${lossy.windowS} s`);
  }
  assert.ok(lossy.node.retransmitted > 0 && lossy.node.nack_received > 0, JSON.stringify(lossy.node));
  // Losses on the way in are repaired too: the node asks the publishers, and
  // their browsers send again.
  assert.ok(lossy.node.nack_sent > 0, `the node asked publishers again: ${JSON.stringify(lossy.node)}`);
  assert.ok(lossy.publishers.every((p) => p.nackCount > 0 && p.retransmitted > 0),
    `each publisher was asked and sent again: ${JSON.stringify(lossy.publishers)}`);
  assert.ok(lossy.node.upstream_recovered > 0, JSON.stringify(lossy.node));
  // The browsers resend on their RTX streams (RFC 4588), which the node takes.
  assert.ok(lossy.node.upstream_rtx > 0 && lossy.node.rtp_unknown_ssrc === 0, JSON.stringify(lossy.node));
});

test('a subscriber policed to 400 kbit/s: the publisher follows within 15 s', {
  timeout: (20 + 200) * 1000,
  skip: canImpair ? false : 'needs root with unshare and nft (tools/deps.sh installs nftables)',
}, async () => {
  const run = await call(0, ['--police-kbps', '400'], 20);
  console.log(`# policed: ${JSON.stringify(run)}`);
  const { police } = run;
  assert.ok(police.beforeBps > 400000, `the publisher sent more than the link before (${police.beforeBps})`);
  assert.ok(police.fellAfterMs !== null && police.fellAfterMs <= 15000,
    `the publisher's target fell below 400 kbit/s (${police.fellAfterMs} ms; lowest ${police.minBps})`);
  const sub = run.subscribers[1];
  assert.ok(sub.fps > 5, `the policed page still decodes video (${sub.fps.toFixed(1)} fps)`);
  // Most runs freeze 0.4-1 s in 20 s (2-5 %), but a policer gives no delay
  // signal, so the estimate finds it only through loss and some runs
  // overshoot into seconds of freeze (up to 27 % seen). Asserted here: the
  // page keeps decoding most of the time. Without the node's REMB the
  // publisher keeps sending about twice the link and the page decodes nothing.
  assert.ok(sub.freezeS <= 0.5 * run.windowS, `the policed page froze ${sub.freezeS} s of ${run.windowS} s`);
  assert.ok(run.node.twcc_feedback_received > 0 && run.node.remb_sent > 0, JSON.stringify(run.node));
  assert.ok(run.node.twcc_feedback_sent > 0, 'the node sent transport-cc feedback to publishers');
});
