// Browser end-to-end: ICE over TCP. Two Chromium pages call through the node
// inside a network namespace where nftables drops every UDP datagram to or
// from the node's media port, as an office firewall that lets only TCP out
// would. ICE must pick the node's passive TCP candidate (RFC 6544), and the
// pages decode each other's video over it. Needs root (unshare -n, nft).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'node:test';

import { REPO_ROOT, SFU_BIN } from '../integration/lib.mjs';

const SECONDS = 10;
const canImpair = process.getuid?.() === 0 &&
  spawnSync('unshare', ['-n', 'nft', 'list', 'ruleset']).status === 0;

function call(extra) {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', process.execPath, path.join(REPO_ROOT, 'tests/e2e/netns-call.mjs'),
      '--seconds', String(SECONDS), ...extra], {
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
      if (code !== 0 || !line) return reject(new Error(`netns-call ${extra.join(' ')} exited ${code}: ${err.slice(-3000)}`));
      resolve(JSON.parse(line));
    });
  });
}

test('UDP to the media port dropped: Chromium connects over ICE-TCP and decodes video', {
  timeout: (SECONDS + 180) * 1000,
  skip: canImpair ? false : 'needs root with unshare and nft (tools/deps.sh installs nftables)',
}, async () => {
  const run = await call(['--block-udp-media', '1']);
  console.log(`# over ICE-TCP: ${JSON.stringify(run)}`);
  for (let i = 0; i < 2; i++) {
    const pairs = run.paths[i];
    assert.equal(pairs.length, 2, `page ${i} has its publish and subscribe transports: ${JSON.stringify(pairs)}`);
    for (const p of pairs) {
      assert.equal(p.local, 'tcp', `page ${i} selected a TCP pair: ${JSON.stringify(p)}`);
      assert.equal(p.remote, 'tcp');
      assert.equal(p.remoteTcpType, 'passive', 'the node\'s passive candidate');
    }
    assert.ok(run.subscribers[i].fps > 5, `page ${i} decodes video over TCP (${run.subscribers[i].fps.toFixed(1)} fps)`);
    assert.ok(run.subscribers[i].packets > 30, `page ${i} received ${run.subscribers[i].packets} video packets`);
  }
  assert.ok(run.node.tcp_accepted >= 4, `the node accepted the pages' TCP connections: ${JSON.stringify(run.node)}`);
});
