// bench/run.mjs: runs one scenario of bench/scenarios/ against a fresh node (or
// the null forwarder) on loopback with build/sfu-loadgen, then writes
// DIR/report.json, DIR/report.txt and DIR/report.svg. Node >= 18, built-in
// modules only. Usage: see usage() or bench/LOADGEN.md.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { deleteNamespace, JANUS_PEER_IP, janusMissing, makeNamespace, startJanus } from './janus.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const SFU_BIN = path.resolve(process.env.SFU_BIN ?? path.join(ROOT, 'build', 'sfu'));
const LOADGEN_BIN = path.resolve(
  process.env.LOADGEN_BIN ?? path.join(path.dirname(SFU_BIN), 'sfu-loadgen'),
);
const NULL_BIN = path.resolve(
  process.env.NULL_FORWARDER_BIN ?? path.join(path.dirname(SFU_BIN), 'null-forwarder'),
);
const HOST = '127.0.0.1';

function usage(out = process.stderr) {
  const names = fs
    .readdirSync(path.join(BENCH_DIR, 'scenarios'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5));
  out.write(
    `Usage: bench/run SCENARIO [--duration S] [--target sfu|null|null-bare|janus] [--out DIR]\n` +
      `                 [--participants N] [--workers N] [--simulcast] [--prefer-layer L[,L...]]\n` +
      `                 [--quiet]\n` +
      `Scenarios: ${names.join(', ')}\n` +
      `  --duration S       measured seconds per step (default: the scenario's)\n` +
      `  --target sfu|null|null-bare  the node (default), the null forwarder (the\n` +
      `                     ceiling), or it without SRTP (the bare socket ceiling), or\n` +
      `                     Janus's videoroom (Debian's janus; root: it runs in a namespace)\n` +
      `  --out DIR          where report.json/.txt/.svg go (default bench/out/SCENARIO[-TARGET])\n` +
      `  --participants N   participants per room in every step (smoke runs)\n` +
      `  --workers N        the node's --workers (default: its own default)\n` +
      `  --simulcast        publishers send 3 video layers (as the scenario's simulcast: true)\n` +
      `  --prefer-layer L[,L...]  subscribers ask for at most layer L (0-2, - for nothing),\n` +
      `                     cycled over each room's subscribers (as prefer_layer)\n`,
  );
}

function parseArgs(argv) {
  const a = { target: 'sfu', quiet: false };
  const rest = [...argv];
  while (rest.length) {
    const k = rest.shift();
    const v = () => {
      if (!rest.length) throw new Error(`${k} needs a value`);
      return rest.shift();
    };
    if (k === '--duration') a.duration = Number(v());
    else if (k === '--target') a.target = v();
    else if (k === '--out') a.out = v();
    else if (k === '--participants') a.participants = Number(v());
    else if (k === '--workers') a.workers = Number(v());
    else if (k === '--simulcast') a.simulcast = true;
    else if (k === '--prefer-layer')
      a.preferLayer = v().split(',').map((x) => (x === '-' ? null : Number(x)));
    else if (k === '--quiet') a.quiet = true;
    else if (k === '--help' || k === '-h') {
      usage(process.stdout);
      process.exit(0);
    } else if (k.startsWith('-')) throw new Error(`unknown flag ${k}`);
    else if (!a.scenario) a.scenario = k;
    else throw new Error(`unexpected argument ${k}`);
  }
  if (!a.scenario) throw new Error('which scenario?');
  if (!['sfu', 'null', 'null-bare', 'janus'].includes(a.target))
    throw new Error('--target is sfu, null, null-bare or janus');
  if (a.duration !== undefined && !(a.duration > 0 && a.duration <= 3600))
    throw new Error('--duration must be 0-3600 s');
  return a;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (quiet, ...m) => {
  if (!quiet) process.stderr.write(`bench: ${m.join(' ')}\n`);
};

function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function udpPortFree(port) {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, HOST, () => s.close(() => resolve(true)));
  });
}

// A run of `count` free UDP ports below the ephemeral range (worker i binds base+i).
async function freeUdpPorts(count) {
  for (let i = 0; i < 200; i++) {
    const base = 20000 + crypto.randomInt(0, 12000);
    let ok = true;
    for (let k = 0; k < count && ok; k++) ok = await udpPortFree(base + k);
    if (ok) return base;
  }
  throw new Error('no free UDP port');
}

// Starts a child whose output is kept (bounded) and which is killed at exit.
const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
function start(bin, args) {
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  const out = { stdout: '', stderr: '' };
  proc.stdout.on('data', (d) => {
    if (out.stdout.length < 8 << 20) out.stdout += d;
  });
  proc.stderr.on('data', (d) => {
    if (out.stderr.length < 1 << 20) out.stderr += d;
  });
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    });
    proc.on('error', (e) => {
      children.delete(proc);
      out.stderr += `spawn error: ${e.message}\n`;
      resolve({ code: null, signal: null });
    });
  });
  return { proc, out, exited };
}

async function stop(child, ms = 5000) {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return child.exited;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), ms);
  const r = await child.exited;
  clearTimeout(timer);
  return r;
}

async function metrics(url) {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(3000) });
    const m = {};
    for (const line of (await res.text()).split('\n')) {
      const r = /^([a-z_]+) (\d+(\.\d+)?)$/.exec(line);
      if (r) m[r[1]] = Number(r[2]);
    }
    return m;
  } catch {
    return {};
  }
}

async function startNode(opts, dataDir) {
  const port = await freeTcpPort();
  const workers = opts.workers ?? Math.max(1, os.cpus().length - 1);
  const rtcPort = await freeUdpPorts(workers);
  const args = [
    '--listen', `${HOST}:${port}`, '--rtc-port', String(rtcPort), '--workers', String(workers),
    '--data', dataDir, '--log-level', 'warn',
    '--limit-auth', '0', '--limit-api', '0', '--limit-ws', '0', '--limit-upload', '0',
  ];
  const node = start(SFU_BIN, args);
  node.url = `http://${HOST}:${port}`;
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${node.url}/api/health`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return node;
    } catch {
      /* not up yet */
    }
    if (node.proc.exitCode !== null) break;
    await sleep(50);
  }
  await stop(node);
  throw new Error(`the node did not start: ${node.out.stderr.slice(-2000)}`);
}

// prefer_layer: a layer (0-2) every subscriber asks for, or a list cycled over
// the subscribers of a room (null: that one asks nothing).
function preferArg(v) {
  if (v === undefined || v === null) return null;
  const list = Array.isArray(v) ? v : [v];
  if (!list.length || list.length > 16 || !list.every((x) => x === null || [0, 1, 2].includes(x)))
    throw new Error('prefer_layer is 0, 1, 2 or a list of them (null: no preference)');
  return list.map((x) => (x === null ? '-' : String(x))).join(',');
}

function loadgenArgs(step, duration, quiet) {
  const a = [
    '--rooms', String(step.rooms ?? 1),
    '--per-room', String(step.per_room),
    '--duration', String(duration),
    '--video-kbps', String(step.video_kbps ?? 1000),
    '--ramp', String(step.ramp_s ?? 0),
    '--connect-timeout', String(step.connect_timeout_s ?? 30),
  ];
  if (step.publishers !== undefined) a.push('--publishers', String(step.publishers));
  if (step.simulcast) a.push('--simulcast');
  const prefer = preferArg(step.prefer_layer);
  if (prefer) a.push('--prefer-layer', prefer);
  if (step.audio === false) a.push('--no-audio');
  if (step.video === false) a.push('--no-video');
  if (quiet) a.push('--quiet');
  return a;
}

// One step: a fresh node (or null forwarder, or Janus), one load generator run.
async function runStep(opts, step, duration, stepIndex) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sfu-bench-'));
  let target;
  let ns = null;
  let genCmd = LOADGEN_BIN;
  try {
    let args = loadgenArgs(step, duration, opts.quiet);
    if (opts.target === 'janus') {
      // Janus and the load generator share a namespace of their own (see janus.mjs).
      ns = makeNamespace();
      target = await startJanus(start, ns, path.join(opts.outDir, `janus-step${stepIndex + 1}`));
      args.push('--janus', `127.0.0.1:${target.wsPort}`, '--media-ip', JANUS_PEER_IP);
      args = ['netns', 'exec', ns, LOADGEN_BIN, ...args];
      genCmd = 'ip';
    } else if (opts.target !== 'sfu') {
      const port = await freeUdpPorts(1);
      const participants = (step.rooms ?? 1) * step.per_room;
      const bare = opts.target === 'null-bare';
      target = start(NULL_BIN, ['--port', String(port), '--participants', String(participants),
        '--per-room', String(step.per_room), '--publishers', String(step.publishers ?? step.per_room),
        ...(bare ? ['--bare', '1'] : [])]);
      await sleep(200);
      if (target.proc.exitCode !== null) throw new Error(`null-forwarder: ${target.out.stderr}`);
      args.push('--null', `${HOST}:${port}`, ...(bare ? ['--null-bare'] : []));
    } else {
      target = await startNode(opts, dataDir);
      args.push('--url', target.url);
    }
    args.push('--watch-pid', String(target.proc.pid));
    const before = opts.target === 'sfu' ? await metrics(target.url) : {};
    const limitMs =
      ((step.ramp_s ?? 0) + (step.connect_timeout_s ?? 30) + duration + 60) * 1000 +
      (step.rooms ?? 1) * step.per_room * 500;
    const gen = start(genCmd, args);
    if (!opts.quiet) gen.proc.stderr.pipe(process.stderr);
    const killer = setTimeout(() => gen.proc.kill('SIGKILL'), limitMs);
    const { code, signal } = await gen.exited;
    clearTimeout(killer);
    const after = opts.target === 'sfu' ? await metrics(target.url) : {};
    let summary;
    try {
      summary = JSON.parse(gen.out.stdout.trim().split('\n').pop());
    } catch {
      throw new Error(
        `sfu-loadgen gave no summary (exit ${code}, signal ${signal}): ${gen.out.stderr.slice(-2000)}`,
      );
    }
    const delta = (k) => (after[k] ?? 0) - (before[k] ?? 0);
    summary.loadgen_exit = code;
    summary.node_counters =
      opts.target === 'sfu'
        ? {
            rtp_forwarded: delta('sfu_rtp_forwarded_total'),
            srtp_auth_failed: delta('sfu_srtp_auth_failed_total'),
            srtp_replayed: delta('sfu_srtp_replayed_total'),
            dtls_failed: delta('sfu_dtls_failed_total'),
            udp_rx_dropped: delta('sfu_udp_rx_dropped_total'),
            udp_tx_failed: delta('sfu_udp_tx_failed_total'),
            stun_rejected: delta('sfu_stun_rejected_total'),
            pli_sent: delta('sfu_pli_sent_total'),
          }
        : {};
    return summary;
  } finally {
    if (target) await stop(target);
    if (ns) deleteNamespace(ns);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

function machine() {
  const cpus = os.cpus();
  return { cores: cpus.length, cpu: cpus[0]?.model ?? 'unknown', kernel: os.release() };
}

// The report keys other tools read, from one step's summary.
function reportOf(scenario, opts, s, duration) {
  const node = s.node ?? {};
  return {
    scenario: scenario.name,
    target: opts.target,
    duration_s: duration,
    participants: s.participants,
    latency_us: s.latency_us,
    baseline_latency_us: s.baseline_latency_us,
    measured_latency_us: s.measured_latency_us,
    forwarded_pps: Math.round(s.forwarded_pps),
    forwarded_bps: Math.round(s.forwarded_bps),
    loss_pct: s.loss_pct,
    expected_packets: s.expected_packets,
    cpu_s_per_mpkt: node.cpu_s_per_mpkt ?? null,
    rss_kib_per_participant: node.rss_kib_per_participant ?? null,
    connect_ms: { p50: s.connect_ms.p50, p99: s.connect_ms.p99 },
    srtp_profile: s.srtp_profile,
    srtp_auth_failures: {
      loadgen: s.srtp_auth_failures,
      node: s.node_counters?.srtp_auth_failed ?? 0,
    },
    connected: s.connected,
    failed: s.failed,
    errors: s.errors ?? [],
    pairs: s.pairs,
    received_matrix: s.received_matrix,
    ...(s.simulcast ? { simulcast: s.simulcast } : {}),
    wire: {
      foreign_packets: s.foreign_packets,
      unannounced_ssrc_packets: s.unannounced_ssrc_packets,
      early_ssrc_packets: s.early_ssrc_packets,
      publisher_ssrc_in_offers: s.publisher_ssrc_in_offers,
      rtp_jumps: s.rtp_jumps,
    },
    node: { ...node, counters: s.node_counters },
    per_second: s.per_second,
    histogram_us: s.histogram_us,
    machine: machine(),
  };
}

function table(report) {
  const rows = (report.steps ?? [report]).map((r) => [
    r.label ?? report.scenario,
    r.failed ? `${r.participants} (${r.failed} failed)` : String(r.participants),
    `${r.latency_us.p50}/${r.latency_us.p99}/${r.latency_us.p999}`,
    `${r.baseline_latency_us.p50}/${r.baseline_latency_us.p99}`,
    String(r.forwarded_pps),
    (r.forwarded_bps / 1e6).toFixed(1),
    r.loss_pct.toFixed(3),
    r.cpu_s_per_mpkt === null ? '-' : r.cpu_s_per_mpkt.toFixed(2),
    r.rss_kib_per_participant === null ? '-' : r.rss_kib_per_participant.toFixed(0),
    `${r.connect_ms.p50}/${r.connect_ms.p99}`,
    `${r.srtp_auth_failures.loadgen}+${r.srtp_auth_failures.node}`,
  ]);
  const head = [
    'step', 'parts', 'added us p50/p99/p999', 'base us p50/p99', 'fwd pkt/s', 'Mbit/s',
    'loss %', 'cpu s/Mpkt', 'KiB/part', 'connect ms', 'auth fail',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  const m = report.machine;
  let out = `${report.scenario} on ${report.target}, ${report.duration_s} s per step; ` +
    `${m.cores} cores, ${m.cpu}, Linux ${m.kernel}; SRTP ${report.srtp_profile}\n`;
  out += `${fmt(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`;
  out += rows.map(fmt).join('\n') + '\n';
  if (report.capacity_pps !== undefined) {
    out += `capacity: ${report.capacity_pps} forwarded packets/s`;
    if (report.capacity_fraction_of_null !== undefined)
      out += ` (${(report.capacity_fraction_of_null * 100).toFixed(1)} % of the null forwarder)`;
    if (report.cpu_per_packet_vs_null !== undefined)
      out += `; CPU per packet ${report.cpu_per_packet_vs_null}x the null forwarder's`;
    if (report.capacity_fraction_of_bare !== undefined)
      out += `; ${(report.capacity_fraction_of_bare * 100).toFixed(1)} % of the bare socket ceiling`;
    out += '\n';
  }
  for (const r of report.steps ?? [report]) {
    const sim = r.simulcast;
    if (!sim) continue;
    // Packets of the measured window by layer (lowest first), by what the subscribers asked for.
    const parts = Object.entries(sim.by_preference).map(
      ([k, t]) => `${k === 'none' ? 'no preference' : `max layer ${k}`}: ${t.in_window_by_layer.join('/')}` +
        ` (${t.pairs_on_wanted_layer} of ${t.pairs} pairs on the wanted layer only)`,
    );
    out += `simulcast${report.steps ? ` (${r.label})` : ''}, packets by layer 0/1/2 in the window: ` +
      `${parts.join('; ')}; keyframe requests by layer ${sim.plis_by_layer.join('/')}\n`;
  }
  if (report.errors?.length) out += `node errors: ${report.errors.join('; ')}\n`;
  return out;
}

// Two panels: the latency histogram (log-scaled buckets) and packets/s over time.
function svg(report) {
  const W = 900;
  const H = 340;
  const pw = 400;
  const ph = 240;
  const x0 = 60;
  const x1 = 500;
  const y0 = 50;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">\n`;
  out += `<rect width="${W}" height="${H}" fill="white"/>\n`;
  out += `<text x="10" y="20" font-size="14">${esc(report.scenario)} on ${esc(report.target)}: ` +
    `SFU-added p50 ${report.latency_us.p50} us, p99 ${report.latency_us.p99} us; ` +
    `${report.forwarded_pps} pkt/s forwarded; loss ${report.loss_pct.toFixed(3)} %</text>\n`;
  // Histogram: buckets merged into 40 log-spaced bins from 1 us to the max.
  const hist = report.histogram_us ?? [];
  const maxUs = Math.max(2, ...hist.map(([us]) => us));
  const bins = new Array(40).fill(0);
  const lmax = Math.log10(maxUs + 1);
  for (const [us, n] of hist) bins[Math.min(39, Math.floor((Math.log10(us + 1) / lmax) * 40))] += n;
  const top = Math.max(1, ...bins);
  out += `<text x="${x0}" y="${y0 - 8}">measured one-way latency (us, log scale), packets per bin</text>\n`;
  out += `<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>\n`;
  bins.forEach((n, i) => {
    const h = (n / top) * ph;
    out += `<rect x="${x0 + (i * pw) / 40}" y="${y0 + ph - h}" width="${pw / 40 - 1}" height="${h}" fill="#4a7ebb"/>\n`;
  });
  for (const us of [1, 10, 100, 1000, 10000, 100000]) {
    if (us > maxUs) break;
    const x = x0 + (Math.log10(us + 1) / lmax) * pw;
    out += `<text x="${x}" y="${y0 + ph + 14}" text-anchor="middle">${us}</text>\n`;
  }
  // Throughput over time.
  const series = report.per_second ?? [];
  const topPps = Math.max(1, ...series.map((s) => s.rx_pps));
  out += `<text x="${x1}" y="${y0 - 8}">packets/s received by subscribers, per second (max ${topPps})</text>\n`;
  out += `<rect x="${x1}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>\n`;
  if (series.length) {
    const pts = series
      .map((s, i) => {
        const x = x1 + (series.length === 1 ? pw / 2 : (i * pw) / (series.length - 1));
        return `${x.toFixed(1)},${(y0 + ph - (s.rx_pps / topPps) * ph * 0.9).toFixed(1)}`;
      })
      .join(' ');
    out += `<polyline points="${pts}" fill="none" stroke="#c0504d" stroke-width="2"/>\n`;
  }
  out += `<text x="${x1}" y="${y0 + ph + 14}">1 s</text><text x="${x1 + pw}" y="${y0 + ph + 14}" text-anchor="end">${series.length} s</text>\n`;
  out += '</svg>\n';
  return out;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`bench: ${e.message}\n`);
    usage();
    process.exit(1);
  }
  const file = path.join(BENCH_DIR, 'scenarios', `${opts.scenario}.json`);
  if (!fs.existsSync(file)) {
    process.stderr.write(`bench: no scenario ${opts.scenario}\n`);
    usage();
    process.exit(1);
  }
  const scenario = JSON.parse(fs.readFileSync(file, 'utf8'));
  const duration = opts.duration ?? scenario.duration_s ?? 10;
  const outName = opts.target === 'sfu' ? scenario.name : `${scenario.name}-${opts.target}`;
  const outDir = path.resolve(opts.out ?? path.join(BENCH_DIR, 'out', outName));
  fs.mkdirSync(outDir, { recursive: true });
  for (const bin of [SFU_BIN, LOADGEN_BIN]) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run make first`);
  }
  if (opts.target === 'janus') {
    const why = janusMissing();
    if (why) {
      process.stderr.write(`bench: cannot run Janus: ${why}\n`);
      process.exit(4);
    }
  }
  opts.outDir = outDir;
  const steps = [];
  let capacity = 0;
  for (const raw of scenario.steps) {
    const step = { ...raw };
    if (opts.participants) {
      step.per_room = opts.participants;
      if (step.publishers !== undefined) step.publishers = Math.min(step.publishers, opts.participants);
    }
    if (opts.simulcast) step.simulcast = true;
    if (opts.preferLayer) step.prefer_layer = opts.preferLayer;
    if (opts.target === 'null' && (step.simulcast || step.prefer_layer !== undefined)) {
      process.stderr.write('bench: the null forwarder has no simulcast (it forwards every layer)\n');
      process.exit(1);
    }
    if (opts.target === 'janus' && (step.simulcast || step.prefer_layer !== undefined)) {
      process.stderr.write('bench: the Janus target runs without simulcast\n');
      process.exit(1);
    }
    log(opts.quiet, `${scenario.name}: ${step.label} (${(step.rooms ?? 1) * step.per_room} participants)`);
    const s = await runStep(opts, step, duration, steps.length);
    const r = { label: step.label, ...reportOf(scenario, opts, s, duration) };
    steps.push(r);
    if (scenario.mode === 'max') {
      const lim = scenario.limits ?? { loss_pct: 1, p99_us: 50000 };
      const held = r.loss_pct <= lim.loss_pct && r.measured_latency_us.p99 <= lim.p99_us && r.failed === 0;
      r.held = held;
      log(opts.quiet, `${step.label}: ${r.forwarded_pps} pkt/s, loss ${r.loss_pct.toFixed(3)} %, ` +
        `p99 ${r.measured_latency_us.p99} us: ${held ? 'held' : 'did not hold'}`);
      if (!held) break;
      capacity = Math.max(capacity, r.forwarded_pps);
    }
  }
  // The report's top level is the largest step (the last that held, for max).
  const main = scenario.mode === 'max'
    ? [...steps].reverse().find((s) => s.held) ?? steps[0]
    : steps[steps.length - 1];
  const report = { ...main };
  delete report.label;
  // Steps keep their figures; the bulky series stay with the top level only.
  if (steps.length > 1) {
    report.steps = steps.map((st) => {
      const { histogram_us, per_second, received_matrix, machine: _m, ...rest } = st;
      return rest;
    });
  }
  if (scenario.mode === 'max') report.capacity_pps = capacity;
  const nullReport = path.join(BENCH_DIR, 'out', `${scenario.name}-null`, 'report.json');
  if (opts.target === 'sfu' && scenario.mode === 'max' && fs.existsSync(nullReport)) {
    const ceiling = JSON.parse(fs.readFileSync(nullReport, 'utf8'));
    if (ceiling.capacity_pps)
      report.capacity_fraction_of_null = Number((capacity / ceiling.capacity_pps).toFixed(3));
    // CPU per packet against the null forwarder's at the same steps: the part of
    // the comparison that does not depend on where the load generator saturates.
    const nullSteps = new Map((ceiling.steps ?? []).map((s) => [s.label, s]));
    let ours = 0;
    let theirs = 0;
    for (const st of report.steps ?? []) {
      const n = nullSteps.get(st.label);
      if (!st.held || !n?.held || !st.cpu_s_per_mpkt || !n.cpu_s_per_mpkt) continue;
      ours += st.cpu_s_per_mpkt * st.forwarded_pps;
      theirs += n.cpu_s_per_mpkt * n.forwarded_pps;
    }
    if (ours && theirs) report.cpu_per_packet_vs_null = Number((ours / theirs).toFixed(3));
  }
  // The same against the bare socket ceiling (no SRTP), when it was measured.
  const bareReport = path.join(BENCH_DIR, 'out', `${scenario.name}-null-bare`, 'report.json');
  if (opts.target === 'sfu' && scenario.mode === 'max' && fs.existsSync(bareReport)) {
    const bare = JSON.parse(fs.readFileSync(bareReport, 'utf8'));
    if (bare.capacity_pps)
      report.capacity_fraction_of_bare = Number((capacity / bare.capacity_pps).toFixed(3));
  }
  // Pretty, but one line per histogram bucket pair and per per-second sample.
  const json = JSON.stringify(report, null, 2)
    .replace(/\[\n\s+(\d+),\n\s+(\d+)\n\s+\]/g, '[$1, $2]')
    .replace(/\{\n\s+"t": (\d+),\n\s+"rx_pps": (\d+),\n\s+"p99_us": ([\d.]+)\n\s+\}/g,
      '{"t": $1, "rx_pps": $2, "p99_us": $3}');
  fs.writeFileSync(path.join(outDir, 'report.json'), json + '\n');
  const text = table(report);
  fs.writeFileSync(path.join(outDir, 'report.txt'), text);
  fs.writeFileSync(path.join(outDir, 'report.svg'), svg(report));
  process.stdout.write(text);
  process.stdout.write(`report: ${path.join(outDir, 'report.json')}\n`);
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
