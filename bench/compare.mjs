// bench/compare.mjs: our node against Janus on the same scenarios, runs
// alternating (ours, then Janus, --pairs times), each through bench/run with
// a fresh process. Writes DIR/compare.json, DIR/compare.txt and
// DIR/compare.svg: every figure as the median over the pairs and the ratio
// ours/Janus, with the targets. --docs FILE also writes a Markdown
// page from the run (docs/BENCHMARKS.md is made this way, never by hand).
// Node >= 18, built-in modules only. Exit 0 after a complete comparison (the
// targets are reported, not enforced), 1 on a failed run or bad flags, 4 when
// Janus cannot run here (the reason is printed).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { JANUS_BIN, janusMissing } from './janus.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');

// Figure key, label, how to read it from a report, and the target (ratio
// ours/Janus; `max` for at most, `min` for at least).
const FIGURES = [
  { key: 'latency_p50_us', label: 'SFU-added latency p50 (us)', get: (r) => r.latency_us?.p50 },
  { key: 'latency_p99_us', label: 'SFU-added latency p99 (us)', get: (r) => r.latency_us?.p99, target: { max: 0.5 } },
  { key: 'cpu_s_per_mpkt', label: 'CPU s per million forwarded', get: (r) => r.cpu_s_per_mpkt, target: { max: 0.25 } },
  { key: 'rss_kib_per_participant', label: 'RSS KiB per participant', get: (r) => r.rss_kib_per_participant },
  { key: 'connect_ms_p50', label: 'connect time p50 (ms)', get: (r) => r.connect_ms?.p50 },
  { key: 'forwarded_pps', label: 'forwarded packets/s', get: (r) => r.forwarded_pps },
  { key: 'loss_pct', label: 'loss %', get: (r) => r.loss_pct },
  { key: 'capacity_pps', label: 'capacity (packets/s, max)', get: (r) => r.capacity_pps, target: { min: 3 } },
];

function usage(out = process.stderr) {
  out.write(
    'Usage: bench/compare SCENARIO... [--pairs N] [--duration S] [--participants N]\n' +
      '                     [--out DIR] [--docs FILE] [--resume] [--quiet]\n' +
      '  --pairs N          runs of ours and of Janus per scenario, alternating (default 3)\n' +
      '  --duration S       measured seconds per step (default: the scenario\'s)\n' +
      '  --participants N   participants per room in every step (smoke runs)\n' +
      '  --out DIR          default bench/out/compare\n' +
      '  --docs FILE        also write the comparison as Markdown (docs/BENCHMARKS.md)\n' +
      '  --resume           keep the runs DIR already holds (an interrupted comparison,\n' +
      '                     or one scenario run again after removing DIR/SCENARIO)\n',
  );
}

function parseArgs(argv) {
  const a = { scenarios: [], pairs: 3, quiet: false };
  const rest = [...argv];
  while (rest.length) {
    const k = rest.shift();
    const v = () => {
      if (!rest.length) throw new Error(`${k} needs a value`);
      return rest.shift();
    };
    if (k === '--pairs') a.pairs = Number(v());
    else if (k === '--duration') a.duration = v();
    else if (k === '--participants') a.participants = v();
    else if (k === '--out') a.out = v();
    else if (k === '--docs') a.docs = v();
    else if (k === '--quiet') a.quiet = true;
    else if (k === '--resume') a.resume = true;
    else if (k === '--help' || k === '-h') {
      usage(process.stdout);
      process.exit(0);
    } else if (k.startsWith('-')) throw new Error(`unknown flag ${k}`);
    else a.scenarios.push(k);
  }
  if (!a.scenarios.length) throw new Error('which scenarios?');
  if (!Number.isInteger(a.pairs) || a.pairs < 1 || a.pairs > 20) throw new Error('--pairs is 1-20');
  for (const s of a.scenarios) {
    if (!fs.existsSync(path.join(BENCH_DIR, 'scenarios', `${s}.json`))) throw new Error(`no scenario ${s}`);
  }
  return a;
}

const log = (opts, m) => {
  if (!opts.quiet) process.stderr.write(`compare: ${m}\n`);
};

// One bench/run; resolves with its report.
function benchRun(opts, scenario, target, outDir) {
  const args = [path.join(BENCH_DIR, 'run.mjs'), scenario, '--target', target, '--out', outDir, '--quiet'];
  if (opts.duration) args.push('--duration', opts.duration);
  if (opts.participants) args.push('--participants', opts.participants);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => {
      if (err.length < 1 << 20) err += d;
    });
    child.stdout.resume();
    child.on('exit', (code) => {
      const file = path.join(outDir, 'report.json');
      if (code !== 0 || !fs.existsSync(file)) {
        reject(new Error(`bench/run ${scenario} --target ${target} failed (exit ${code}): ${err.slice(-2000)}`));
        return;
      }
      resolve(JSON.parse(fs.readFileSync(file, 'utf8')));
    });
  });
}

function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function figures(report) {
  const f = {};
  for (const { key, get } of FIGURES) {
    const v = get(report);
    f[key] = typeof v === 'number' ? v : null;
  }
  f.participants = report.participants;
  f.failed = report.failed;
  return f;
}

function summarize(runs) {
  const med = (side) => {
    const out = {};
    for (const { key } of FIGURES) out[key] = median(runs.map((r) => r[side][key]));
    return out;
  };
  const ours = med('ours');
  const janus = med('janus');
  const ratio = {};
  const targets = {};
  for (const { key, target } of FIGURES) {
    ratio[key] = ours[key] !== null && janus[key] ? Number((ours[key] / janus[key]).toFixed(3)) : null;
    if (target && ratio[key] !== null) {
      targets[key] = {
        ...target,
        ratio: ratio[key],
        met: target.max !== undefined ? ratio[key] <= target.max : ratio[key] >= target.min,
      };
    }
  }
  if (ours.loss_pct !== null && janus.loss_pct !== null)
    targets.loss_pct = { ours: ours.loss_pct, janus: janus.loss_pct, met: ours.loss_pct <= janus.loss_pct };
  return { ours, janus, ratio, targets };
}

const fmt = (v) => {
  if (v === null || v === undefined) return '-';
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return String(Number(v.toFixed(3)));
};

function table(result) {
  let out = '';
  for (const [name, s] of Object.entries(result.scenarios)) {
    out += `${name}: median of ${s.runs.length} pair(s), ours vs Janus\n`;
    const rows = FIGURES.filter(({ key }) => s.ours[key] !== null || s.janus[key] !== null).map(
      ({ key, label }) => {
        const t = key === 'loss_pct' ? null : s.targets[key];
        const goal = t ? `${t.max !== undefined ? '<=' : '>='} ${t.max ?? t.min}: ${t.met ? 'met' : 'not met'}` : '';
        return [label, fmt(s.ours[key]), fmt(s.janus[key]), fmt(s.ratio[key]), goal];
      },
    );
    const head = ['figure', 'ours', 'janus', 'ours/janus', 'target'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
    out += `${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}\n`;
    if (s.targets.loss_pct)
      out += `loss: ours ${fmt(s.ours.loss_pct)} %, Janus ${fmt(s.janus.loss_pct)} %: ` +
        `${s.targets.loss_pct.met ? 'no more loss' : 'more loss than Janus'}\n`;
    out += '\n';
  }
  return out;
}

// Bars of ours/Janus per figure and scenario, on a log scale (1 = equal).
function svg(result) {
  const rows = [];
  for (const [name, s] of Object.entries(result.scenarios)) {
    for (const { key, label } of FIGURES) {
      if (s.ratio[key] !== null && s.ratio[key] > 0)
        rows.push({ name, label, ratio: s.ratio[key], t: key === 'loss_pct' ? null : s.targets[key] });
    }
  }
  const W = 820;
  const rowH = 22;
  const x0 = 330;
  const pw = 440;
  const H = 70 + rows.length * rowH;
  const lo = Math.log10(0.05);
  const hi = Math.log10(20);
  const X = (r) => x0 + ((Math.log10(Math.min(20, Math.max(0.05, r))) - lo) / (hi - lo)) * pw;
  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  let out = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">\n`;
  out += `<rect width="${W}" height="${H}" fill="white"/>\n`;
  out += `<text x="10" y="20" font-size="14">ours / Janus (median of pairs; log scale, 1 = equal; ` +
    `lower is better except packets/s and capacity)</text>\n`;
  for (const r of [0.1, 0.25, 0.5, 1, 2, 3, 10]) {
    out += `<line x1="${X(r)}" y1="32" x2="${X(r)}" y2="${H - 20}" stroke="${r === 1 ? '#444' : '#ddd'}"/>\n`;
    out += `<text x="${X(r)}" y="${H - 6}" text-anchor="middle">${r}</text>\n`;
  }
  rows.forEach((r, i) => {
    const y = 40 + i * rowH;
    out += `<text x="10" y="${y + 13}">${esc(r.name)}: ${esc(r.label)}</text>\n`;
    const a = X(1);
    const b = X(r.ratio);
    const color = r.t ? (r.t.met ? '#4a9b4a' : '#c0504d') : '#4a7ebb';
    out += `<rect x="${Math.min(a, b)}" y="${y + 3}" width="${Math.max(1, Math.abs(b - a))}" height="${rowH - 8}" fill="${color}"/>\n`;
    out += `<text x="${Math.max(a, b) + 4}" y="${y + 13}">${fmt(r.ratio)}</text>\n`;
  });
  out += '</svg>\n';
  return out;
}

function versions() {
  const v = { janus: null, sfu_commit: null };
  const r = spawnSync(JANUS_BIN, ['--version'], { encoding: 'utf8', timeout: 5000 });
  const m = /Janus version: \d+ \(([^)]+)\)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  v.janus = m ? m[1] : null;
  try {
    v.sfu_commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    /* not a checkout */
  }
  return v;
}

function markdown(result, svgName) {
  const m = result.machine;
  let out = '# Benchmarks: our node against Janus\n\n';
  out += `<!-- Generated by bench/compare from the run of ${result.date}; do not edit by hand: ` +
    'run `make bench-compare` again. -->\n\n';
  out += `Generated by \`bench/compare ${result.args.join(' ')}\` on ${result.date}: ` +
    `${m.cores} cores (${m.cpu}), Linux ${m.kernel}; Janus ${result.versions.janus ?? 'unknown'} ` +
    `(Debian's package, videoroom plugin), our node at ${result.versions.sfu_commit ?? 'unknown'}; ` +
    `load average ${result.load_average.start.join(' ')} at the start, ` +
    `${result.load_average.end.join(' ')} at the end` +
    (result.kept_runs ? ` (${result.kept_runs} of the runs kept from an earlier invocation with --resume)` : '') +
    '.\n\n';
  out += 'Both run the same scenario with the same synthetic participants (`build/sfu-loadgen`: ' +
    'real ICE, DTLS and SRTP; one-way latency from kernel receive timestamps), one after the other, ' +
    `${result.pairs} time(s) each, alternating; every figure is the median over those runs and the ` +
    'ratio is ours/Janus. How it is run and what each figure means: ' +
    '[bench/LOADGEN.md](../bench/LOADGEN.md#against-janus).\n\n';
  out += `![ours / Janus per figure](${svgName})\n\n`;
  for (const [name, s] of Object.entries(result.scenarios)) {
    out += `## ${name}\n\n| figure | ours | Janus | ours/Janus | target |\n| --- | --- | --- | --- | --- |\n`;
    for (const { key, label } of FIGURES) {
      if (s.ours[key] === null && s.janus[key] === null) continue;
      const t = key === 'loss_pct' ? null : s.targets[key];
      const goal = t ? `${t.max !== undefined ? '≤' : '≥'} ${t.max ?? t.min}: ${t.met ? 'met' : '**not met**'}` : '';
      out += `| ${label} | ${fmt(s.ours[key])} | ${fmt(s.janus[key])} | ${fmt(s.ratio[key])} | ${goal} |\n`;
    }
    if (s.targets.loss_pct)
      out += `\nLoss: ours ${fmt(s.ours.loss_pct)} %, Janus ${fmt(s.janus.loss_pct)} %` +
        ` (${s.targets.loss_pct.met ? 'no more loss than Janus' : '**more loss than Janus**'}).\n`;
    out += '\n';
  }
  return out;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`compare: ${e.message}\n`);
    usage();
    process.exit(1);
  }
  const why = janusMissing();
  if (why) {
    process.stderr.write(`compare: Janus cannot run here, so there is nothing to compare: ${why}\n`);
    process.exit(4);
  }
  const outDir = path.resolve(opts.out ?? path.join(BENCH_DIR, 'out', 'compare'));
  fs.mkdirSync(outDir, { recursive: true });
  const cpus = os.cpus();
  const result = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    args: process.argv.slice(2),
    pairs: opts.pairs,
    machine: { cores: cpus.length, cpu: cpus[0]?.model ?? 'unknown', kernel: os.release() },
    versions: versions(),
    load_average: { start: os.loadavg().map((x) => Number(x.toFixed(2))) },
    kept_runs: 0,
    scenarios: {},
  };
  for (const scenario of opts.scenarios) {
    const runs = [];
    for (let i = 1; i <= opts.pairs; i++) {
      const pair = {};
      for (const [side, target] of [['ours', 'sfu'], ['janus', 'janus']]) {
        const runDir = path.join(outDir, scenario, `pair${i}-${side}`);
        const kept = path.join(runDir, 'report.json');
        let report;
        if (opts.resume && fs.existsSync(kept)) {
          log(opts, `${scenario}: pair ${i}/${opts.pairs}, ${side}: kept from ${runDir}`);
          report = JSON.parse(fs.readFileSync(kept, 'utf8'));
          result.kept_runs++;
        } else {
          log(opts, `${scenario}: pair ${i}/${opts.pairs}, ${side}`);
          report = await benchRun(opts, scenario, target, runDir);
        }
        pair[side] = figures(report);
        log(opts, `${scenario}: ${side}: ${report.forwarded_pps} pkt/s, p99 ${report.latency_us?.p99} us, ` +
          `${report.cpu_s_per_mpkt} CPU s/Mpkt, loss ${report.loss_pct} %`);
      }
      runs.push(pair);
    }
    result.scenarios[scenario] = { runs, ...summarize(runs) };
  }
  result.load_average.end = os.loadavg().map((x) => Number(x.toFixed(2)));
  const json = JSON.stringify(result, null, 2);
  fs.writeFileSync(path.join(outDir, 'compare.json'), json + '\n');
  const text = table(result);
  fs.writeFileSync(path.join(outDir, 'compare.txt'), text);
  const picture = svg(result);
  fs.writeFileSync(path.join(outDir, 'compare.svg'), picture);
  if (opts.docs) {
    const docs = path.resolve(opts.docs);
    const svgName = `${path.basename(docs, '.md').toLowerCase()}.svg`;
    fs.mkdirSync(path.dirname(docs), { recursive: true });
    fs.writeFileSync(path.join(path.dirname(docs), svgName), picture);
    fs.writeFileSync(docs, markdown(result, svgName));
  }
  process.stdout.write(text);
  process.stdout.write(`comparison: ${path.join(outDir, 'compare.json')}\n`);
}

main().catch((e) => {
  process.stderr.write(`compare: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
