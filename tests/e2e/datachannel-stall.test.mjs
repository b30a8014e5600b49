// Browser end-to-end: a page that cannot be delivered to does not stall the
// others. Three Chromium pages in a call with data channels; the first two
// send each other (and the third) 1,000-byte app messages at 50 a second;
// nftables then drops everything the node sends to the third page
// (netns-datachannel.mjs). Asserted: the first two keep receiving every
// message of the other once, in order, and within a bounded delay while the
// third is cut off; the node holds at most its 256 KiB send buffer for the
// third page, then closes that page's app channel (sfu_dc_closed_not_reading
// in /metrics, and the page's own close event once the cut is lifted); the
// node keeps answering and exits cleanly. Needs root (unshare -n, nft).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'node:test';

import { REPO_ROOT, SFU_BIN } from '../integration/lib.mjs';

const RATE = 50;
const SIZE = 1000;
const SEND_BUFFER = 262144; // SFU_DC_SEND_BUFFER (sfu/datachannel.h)
const MAX_DELAY_MS = 3000; // per message while the third page is cut off (loopback: ~10 ms)
const canImpair = process.getuid?.() === 0 &&
  spawnSync('unshare', ['-n', 'nft', 'list', 'ruleset']).status === 0;

function run() {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', process.execPath, path.join(REPO_ROOT, 'tests/e2e/netns-datachannel.mjs'),
      '--rate', String(RATE), '--size', String(SIZE), '--hold-ms', '3000'], {
      env: { ...process.env, SFU_BIN }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`netns-datachannel exited ${code}: ${err.slice(-3000)}`));
      resolve(JSON.parse(line));
    });
  });
}

/* "seq|sentMs|..." as [seq, sentMs]. */
const parse = (data) => data.split('|').slice(0, 2).map(Number);

test('a page the node cannot deliver to loses its channel; the others do not stall', {
  timeout: 320000,
  skip: canImpair ? false : 'needs root with unshare and nft (tools/deps.sh installs nftables)',
}, async () => {
  const r = await run();
  const { ids, cutAt, liftedAt } = r;
  const cutMs = liftedAt - cutAt;
  console.log(`# cut for ${cutMs} ms; the node closed the channel ${r.closedAt - cutAt} ms after the cut; ` +
    `the page saw it close ${r.deadClosedAt - liftedAt} ms after the lift; sent ${r.sent.join(', ')}`);
  console.log(`# node counters before the cut ${JSON.stringify(r.before)}, at the end ${JSON.stringify(r.after)}`);

  // The first two pages: every message of the other, once, in order, on time.
  for (const [i, j] of [[0, 1], [1, 0]]) {
    const got = r.received[i].filter(([, from]) => from === ids[j]);
    const seqs = got.map(([, , d]) => parse(d)[0]);
    assert.deepEqual(seqs, Array.from({ length: r.sent[j] }, (_, k) => k), `page ${i}: page ${j}'s messages once and in order`);
    const delays = got.filter(([, , d]) => parse(d)[1] >= cutAt && parse(d)[1] <= liftedAt)
      .map(([at, , d]) => at - parse(d)[1]).sort((a, b) => a - b);
    assert.ok(delays.length >= (cutMs / 1000) * RATE * 0.5, `page ${i} got ${delays.length} messages during the cut`);
    const max = delays[delays.length - 1];
    console.log(`# page ${i} during the cut: ${delays.length} messages, delay p50 ${delays[delays.length >> 1]} ms, max ${max} ms`);
    assert.ok(max <= MAX_DELAY_MS, `page ${i}: a message took ${max} ms during the cut`);
    assert.ok(!r.liveChannels[i].some((c) => c.closedAt), `page ${i}'s channels stay open`);
  }

  // The node reached its bound for the third page and closed its app channel, once.
  assert.ok(r.closedAt, `the node closed no channel in 40 s of the cut: ${JSON.stringify(r.during)}`);
  assert.equal(r.after.closed_not_reading - r.before.closed_not_reading, 1);
  assert.ok(r.nodeLog.some((l) => /user \d+'s channel app closed: not reading/.test(l)), r.nodeLog.join('\n'));
  // What the third page got: a prefix of each sender's messages, in order;
  // of those sent after the cut, no more than the node's send buffer.
  let afterCut = 0;
  for (const j of [0, 1]) {
    const got = r.received[2].filter(([, from]) => from === ids[j]).map(([, , d]) => parse(d));
    assert.deepEqual(got.map(([seq]) => seq), Array.from({ length: got.length }, (_, k) => k), `page 2: page ${j}'s messages in order`);
    assert.ok(got.length < r.sent[j], 'page 2 stopped receiving once its channel closed');
    afterCut += got.filter(([, sentMs]) => sentMs >= cutAt).length;
  }
  console.log(`# page 2 received ${afterCut} messages (${afterCut * SIZE} bytes) sent after the cut`);
  assert.ok(afterCut * SIZE <= SEND_BUFFER, `the node held ${afterCut * SIZE} bytes for the cut page`);
  assert.ok(afterCut * SIZE >= SEND_BUFFER / 2, 'the cut page got what the node held once the cut was lifted');
  // Its app channel closed, seen by the page once the path was back; state stays.
  assert.ok(r.deadClosedAt && r.deadClosedAt >= liftedAt, 'the cut page saw its app channel close');
  assert.equal(r.deadChannels.find((c) => c.label === 'state').closedAt, null);
  // The node counted each delivery it handed to SCTP, all of which arrived
  // (the held ones once the cut was lifted), and nothing else.
  const delivered = r.received.reduce((n, got) => n + got.length, 0);
  assert.equal(r.after.relayed_reliable, delivered);
  assert.equal(r.after.relayed_reliable_bytes, delivered * SIZE);
  assert.equal(r.after.dropped_rate + r.after.dropped_size, 0);
  // Its state channel stayed open: with the buffer full, those messages were lost.
  assert.ok(r.after.dropped_full > r.before.dropped_full, 'state messages to the cut page counted as lost');
  assert.ok(r.after.relayed_unreliable > r.before.relayed_unreliable, 'state messages relayed');
  assert.equal(r.healthDuringCut, 200);
  assert.equal(r.health, 200);
});
