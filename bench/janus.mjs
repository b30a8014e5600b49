// bench/janus.mjs: Janus (Debian's `janus`, the peer SFU of the bench) in a
// network namespace of its own, with a config this module writes: the
// videoroom plugin and the WebSocket transport on 127.0.0.1 only, no event
// handlers or loggers, logs into the run folder.
//
// Janus's ICE (libnice) never gathers loopback, so the namespace holds a veth
// pair, both ends inside: Janus gathers jv0 (10.201.0.1), the load generator
// runs in the same namespace with its media sockets on jv1 (10.201.0.2).
// Packets to Janus take the namespace's loopback, as they do to our node;
// Janus's replies leave by jv0 and arrive on jv1 with a source address of the
// same host, which the kernel drops as martian unless accept_local is on (and
// rp_filter off) in the namespace. Needs root (ip netns).
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const JANUS_BIN = process.env.JANUS_BIN ?? '/usr/bin/janus';
const LIB_DIR = process.env.JANUS_LIB_DIR ?? '/usr/lib/x86_64-linux-gnu/janus';
const VETH = 'jv0';
const VETH_PEER = 'jv1';
const JANUS_IP = '10.201.0.1';
export const JANUS_PEER_IP = '10.201.0.2';

// Why Janus cannot run here, or null when it can.
export function janusMissing() {
  if (!fs.existsSync(JANUS_BIN)) return `${JANUS_BIN} is not installed (tools/deps.sh janus installs it)`;
  if (!fs.existsSync(path.join(LIB_DIR, 'plugins', 'libjanus_videoroom.so')))
    return `the videoroom plugin is missing from ${LIB_DIR}/plugins`;
  if (process.getuid?.() !== 0) return 'running Janus in a network namespace needs root';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'the ip command (iproute2) is missing';
  }
  return null;
}

function ip(...args) {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

// Every .so of a Janus module folder except `keep`, as a disable list.
function disableAllBut(kind, keep) {
  let files = [];
  try {
    files = fs.readdirSync(path.join(LIB_DIR, kind));
  } catch {
    /* no such folder: nothing to disable */
  }
  return files.filter((f) => f.endsWith('.so') && f !== keep).join(',');
}

function writeConfig(dir, wsPort) {
  const conf = path.join(dir, 'conf');
  fs.mkdirSync(conf, { recursive: true });
  fs.writeFileSync(
    path.join(conf, 'janus.jcfg'),
    `general: {
\tconfigs_folder = "${conf}"
\tplugins_folder = "${LIB_DIR}/plugins"
\ttransports_folder = "${LIB_DIR}/transports"
\tevents_folder = "${LIB_DIR}/events"
\tloggers_folder = "${LIB_DIR}/loggers"
\tdebug_level = ${process.env.JANUS_DEBUG_LEVEL ?? 3}
\tsession_timeout = 0
\tprotected_folders = []
}
certificates: {
}
media: {
\tipv6 = false
\trtp_port_range = "20000-60000"
}
nat: {
\tnice_debug = ${process.env.JANUS_NICE_DEBUG ? "true" : "false"}
\tice_enforce_list = "${VETH}"
\tignore_mdns = true
}
plugins: {
\tdisable = "${disableAllBut('plugins', 'libjanus_videoroom.so')}"
}
transports: {
\tdisable = "${disableAllBut('transports', 'libjanus_websockets.so')}"
}
loggers: {
\tdisable = "${disableAllBut('loggers', '')}"
}
events: {
\tbroadcast = false
}
`,
  );
  fs.writeFileSync(
    path.join(conf, 'janus.transport.websockets.jcfg'),
    `general: {
\tjson = "plain"
\tws = true
\tws_port = ${wsPort}
\tws_ip = "127.0.0.1"
\twss = false
}
admin: {
\tadmin_ws = false
\tadmin_wss = false
}
`,
  );
  fs.writeFileSync(
    path.join(conf, 'janus.plugin.videoroom.jcfg'),
    'general: {\n}\n',
  );
  return conf;
}

// The namespace with its loopback and veth pair up. Returns its name.
export function makeNamespace() {
  const ns = `sfujanus-${process.pid}-${crypto.randomBytes(3).toString('hex')}`;
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'add', VETH, 'type', 'veth', 'peer', 'name', VETH_PEER);
    ip('-n', ns, 'addr', 'add', `${JANUS_IP}/30`, 'dev', VETH);
    ip('-n', ns, 'addr', 'add', `${JANUS_PEER_IP}/30`, 'dev', VETH_PEER);
    ip('-n', ns, 'link', 'set', VETH, 'up');
    ip('-n', ns, 'link', 'set', VETH_PEER, 'up');
    const conf = ['all', 'default', VETH, VETH_PEER]
      .map((d) => `echo 1 > /proc/sys/net/ipv4/conf/${d}/accept_local; ` +
        `echo 0 > /proc/sys/net/ipv4/conf/${d}/rp_filter`)
      .join('; ');
    execFileSync('ip', ['netns', 'exec', ns, 'sh', '-ec', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    deleteNamespace(ns);
    throw new Error(`could not set up the namespace ${ns}: ${e.stderr?.toString() ?? e.message}`);
  }
  return ns;
}

export function deleteNamespace(ns) {
  try {
    ip('netns', 'delete', ns);
  } catch {
    /* already gone */
  }
}

// Starts Janus in ns with its config and log in runDir (JANUS_DEBUG_LEVEL and
// JANUS_NICE_DEBUG=1 make the log verbose). Resolves once its
// WebSocket port answers: {proc, out, exited, wsUrl, wsPort, log}.
// `start` is the harness's child starter (kills children at exit).
export async function startJanus(start, ns, runDir) {
  fs.mkdirSync(runDir, { recursive: true });
  // The namespace has its own ports: any fixed one is free there.
  const wsPort = 8188;
  const conf = writeConfig(runDir, wsPort);
  const log = path.join(runDir, 'janus.log');
  const janus = start('ip', ['netns', 'exec', ns, JANUS_BIN, '-F', conf, '-C',
    path.join(conf, 'janus.jcfg'), '-N', '-L', log, '-o']);
  janus.wsPort = wsPort;
  janus.log = log;
  const deadline = Date.now() + 15000;
  while (Date.now() < deadline) {
    if (janus.proc.exitCode !== null) break;
    // Probe from inside the namespace: a connect through ip netns exec.
    try {
      execFileSync('ip', ['netns', 'exec', ns, 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${wsPort}`], {
        stdio: 'ignore',
        timeout: 2000,
      });
      return janus;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let tail = '';
  try {
    tail = fs.readFileSync(log, 'utf8').slice(-2000);
  } catch {
    tail = janus.out.stderr.slice(-2000);
  }
  janus.proc.kill('SIGKILL');
  throw new Error(`Janus did not start: ${tail}`);
}
