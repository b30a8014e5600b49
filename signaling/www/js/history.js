// Calls I was in: room, when, how long, with whom; direct calls with who
// rang whom and how it went.
import { markMissedSeen } from './direct-call.js';
import { api, session } from './session.js';
import { $, el, emit, fmtDateTime, fmtDuration } from './util.js';

let oldest = null;

const STATUS = {
  ended: 'answered', accepted: 'in progress', ringing: 'ringing', declined: 'declined',
  cancelled: 'cancelled', missed: 'missed', busy: 'busy',
};

function directRow(c) {
  const out = c.direction === 'outgoing';
  const what = `${out ? 'Outgoing' : 'Incoming'} ${c.media === 'audio' ? 'voice' : 'video'} call ${out ? 'to' : 'from'} ${c.peer.username}`;
  const missed = !out && c.status === 'missed';
  const answered = Boolean(c.answeredAt);
  return el('li', { className: `row-item${missed ? ' missed' : ''}`, dataset: { callId: c.id, status: c.status } },
    el('div', { className: 'grow' },
      el('span', { className: 'title' }, what),
      el('div', { className: 'muted small' },
        `${fmtDateTime(c.startedAt)} · ${STATUS[c.status] || c.status}`,
        answered ? el('span', { className: 'duration' }, ` · ${fmtDuration(c.durationMs)}`) : '')),
    el('button', {
      type: 'button', attrs: { 'aria-label': `Call ${c.peer.username} back` },
      onclick: () => emit('direct-call', { user: { id: c.peer.userId, username: c.peer.username }, media: c.media }),
    }, 'Call back'));
}

function row(c) {
  if (c.kind === 'direct') return directRow(c);
  const others = c.participants.filter((p) => p.userId !== session.user.id).map((p) => p.username);
  const uniq = [...new Set(others)];
  const end = c.endedAt ? new Date(c.endedAt) : new Date();
  return el('li', { className: 'row-item', dataset: { callId: c.id } },
    el('div', { className: 'grow' },
      el('span', { className: 'title' }, c.roomName || `Room ${c.roomId}`),
      el('div', { className: 'muted small' },
        `${fmtDateTime(c.startedAt)} · ${c.endedAt ? fmtDuration(end - new Date(c.startedAt)) : 'in progress'}`,
        c.endReason === 'ended_by_host' ? ' · ended by the host' : ''),
      el('div', { className: 'small' }, uniq.length ? `With ${uniq.join(', ')}` : 'Nobody else joined')));
}

async function load(more) {
  const q = more && oldest ? `?limit=20&before=${oldest}` : '?limit=20';
  const { calls, hasMore } = await api('GET', `/api/calls${q}`);
  if (calls.length) oldest = calls.at(-1).id;
  const rows = calls.map(row);
  if (more) $('history').append(...rows);
  else $('history').replaceChildren(...rows);
  $('history-empty').hidden = $('history').children.length > 0;
  $('history-more').hidden = !hasMore;
}

export async function showHistory() {
  oldest = null;
  markMissedSeen();
  try {
    await load(false);
  } catch (e) {
    $('history').replaceChildren(el('li', { className: 'error' }, `Could not load calls: ${e.message}`));
  }
}

export function initHistory() {
  $('history-more').addEventListener('click', () => load(true).catch(() => {}));
}
