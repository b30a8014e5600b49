// Browser end-to-end: simulcast. Three Chromium pages publish their cameras
// as three encodings through the web client, inside a network namespace
// (netns-simulcast.mjs). One subscriber's downlink is policed to 300 kbit/s:
// it must fall to a low layer within 15 s and keep decoding without
// freezing, while the other two keep the top layer and every publisher keeps
// sending its top encoding; freed, it is back on the top layer within 20 s.
// A page whose tiles are small gets a low layer; a hidden tile's track
// stops receiving packets. Judged by the browsers' own getStats. Needs root
// (unshare -n, nft).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import test from 'node:test';

import { REPO_ROOT, SFU_BIN } from '../integration/lib.mjs';

const canImpair = process.getuid?.() === 0 &&
  spawnSync('unshare', ['-n', 'nft', 'list', 'ruleset']).status === 0;

function run() {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['-n', process.execPath, path.join(REPO_ROOT, 'tests/e2e/netns-simulcast.mjs'),
      '--police-kbps', '300'], { env: { ...process.env, SFU_BIN }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 320 * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line) return reject(new Error(`netns-simulcast exited ${code}: ${err.slice(-2000)}`));
      resolve(JSON.parse(line));
    });
  });
}

test('simulcast: a policed subscriber takes a low layer, the others keep the top one', {
  timeout: 340 * 1000,
  skip: canImpair ? false : 'needs root with unshare and nft (tools/deps.sh installs nftables)',
}, async () => {
  const r = await run();
  console.log(`# ${JSON.stringify(r)}`);
  assert.ok(r.lowAfterMs !== null && r.lowAfterMs <= 15000, `policed page on a low layer within 15 s: ${r.lowAfterMs}`);
  assert.ok(r.policed.widths.every((w) => w > 0 && w <= 320), `policed page widths ${r.policed.widths}`);
  assert.ok(r.policed.freezeS / r.policed.windowS < 0.05, `policed page froze ${r.policed.freezeS} s of ${r.policed.windowS}`);
  assert.ok(r.policed.fps > 3, `policed page keeps decoding: ${r.policed.fps} fps`);
  for (const ws of r.othersWhilePoliced) assert.ok(ws.every((w) => w >= 640), `unconstrained pages on the top layer: ${ws}`);
  for (const out of r.publishers) {
    assert.ok(out.some((o) => o.width >= 640), `every publisher still sends its top encoding: ${JSON.stringify(out)}`);
  }
  assert.ok(r.topAgainAfterMs !== null && r.topAgainAfterMs <= 20000, `back on the top layer within 20 s: ${r.topAgainAfterMs}`);
  assert.ok(r.smallTiles.afterMs !== null, `small tiles get a low layer: ${JSON.stringify(r.smallTiles)}`);
  assert.equal(r.hidden.whileHidden, 0, 'a hidden tile receives no packets');
  assert.ok(r.hidden.afterShown > 0, 'shown again, it receives packets again');
});
