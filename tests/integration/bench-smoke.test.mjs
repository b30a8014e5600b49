// The bench harness itself: a short room-10 run (5 s, 4 participants) through
// bench/run against a fresh node. Its figures are not asserted; what is: the
// report exists with the keys other tools read, every subscriber received
// packets from every publisher, and no SRTP packet failed authentication.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO_ROOT, SFU_BIN, makeTempDir, removeDir } from './lib.mjs';

const RUN = path.join(REPO_ROOT, 'bench', 'run');

function runBench(args, timeoutMs) {
  return new Promise((resolve, reject) => {
    const proc = spawn(RUN, args, {
      env: { ...process.env, SFU_BIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

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
