// Direct messages: conversations with unread badges, live delivery, read
// receipts, history paging. The node has no "list my conversations" route:
// the list is built from contacts, unread counts, live messages and the
// people this browser wrote to (remembered locally).
import { MessageList, wireCompose } from './messages.js';
import { contactList, isBlocked, loadContacts, openReport, setBlocked } from './people.js';
import { api, session } from './session.js';
import { $, el, emit, fmtLastSeen, on, toast } from './util.js';
import { request, send } from './ws.js';

const convs = new Map(); // userId -> {userId, username, unread, online, lastSeen}
let current = null; // userId
let list = null;

const peersKey = () => `sfu.dmPeers.${session.user.id}`;
function remember(id, username) {
  if (!id || id === session.user?.id) return null;
  let c = convs.get(id);
  if (!c) {
    c = { userId: id, username: username || `user ${id}`, unread: 0, online: false, lastSeen: null };
    convs.set(id, c);
  } else if (username && c.username.startsWith('user ')) c.username = username;
  const stored = JSON.parse(localStorage.getItem(peersKey()) || '{}');
  if (stored[id] !== c.username) {
    stored[id] = c.username;
    localStorage.setItem(peersKey(), JSON.stringify(stored));
  }
  return c;
}

function updateBadge() {
  const total = [...convs.values()].reduce((n, c) => n + c.unread, 0);
  $('dm-badge').hidden = total === 0;
  $('dm-badge').textContent = total ? String(total) : '';
  $('dm-badge').setAttribute('aria-label', `${total} unread`);
}

function renderList() {
  const items = [...convs.values()].sort((a, b) => (b.unread - a.unread) || a.username.localeCompare(b.username));
  $('dm-empty').hidden = items.length > 0;
  $('dm-list').replaceChildren(...items.map((c) => el('li', { className: 'row-item', dataset: { userId: c.userId } },
    el('span', { className: `dot ${c.online ? 'on' : ''}`, attrs: { 'aria-hidden': 'true' } }),
    el('a', {
      href: `#/dms/${c.userId}`, className: 'grow title',
      attrs: { 'aria-current': c.userId === current ? 'true' : 'false', 'aria-label': `${c.username}${c.unread ? `, ${c.unread} unread` : ''}` },
    }, c.username),
    c.unread ? el('span', { className: 'badge', attrs: { 'aria-hidden': 'true' } }, String(c.unread)) : null)));
  updateBadge();
}

const viewing = () => !$('view-dms').hidden && !document.hidden;

function markRead(peerId) {
  const incoming = [...list.msgs.values()].filter((m) => m.senderId === peerId && !m.readAt);
  const c = convs.get(peerId);
  if (!incoming.length && !c?.unread) return;
  const upToId = Math.max(0, ...incoming.map((m) => m.id), c?.lastId || 0);
  send({ type: 'mark_read', senderId: peerId, ...(upToId ? { upToId } : {}) });
  for (const m of incoming) m.readAt = new Date().toISOString();
  if (c) c.unread = 0;
  renderList();
}

function renderHead() {
  const c = convs.get(current);
  $('dm-title').textContent = c ? c.username : '';
  $('dm-presence').textContent = c ? fmtLastSeen(c.online, c.lastSeen) : '';
  const blocked = isBlocked(current);
  $('dm-block').textContent = blocked ? 'Unblock' : 'Block';
  $('dm-block').setAttribute('aria-pressed', String(blocked));
  $('dm-call').setAttribute('aria-label', c ? `Video call ${c.username}` : 'Call');
}

async function openConversation(peerId) {
  current = peerId;
  const c = remember(peerId);
  $('dm-pane').hidden = false;
  $('dm-error').textContent = '';
  renderHead();
  list.reset();
  try {
    const page = await api('GET', `/api/direct-messages/${peerId}?limit=50`);
    if (current !== peerId) return;
    const other = page.messages.find((m) => m.senderId === peerId);
    if (other) c.username = other.senderName;
    list.set(page.messages.slice().reverse(), page.hasMore);
    renderHead();
    markRead(peerId);
  } catch (e) {
    $('dm-error').textContent = e.status === 404 ? 'No such user.' : e.message;
  }
  renderList();
}

export async function showDms(peerId) {
  try {
    for (const ct of (await loadContacts()).values()) {
      const c = remember(ct.id, ct.username);
      c.online = ct.online;
      c.lastSeen = ct.lastSeen;
    }
  } catch {
    /* the list still shows what we know */
  }
  renderList();
  if (peerId) await openConversation(peerId);
  else {
    current = null;
    $('dm-pane').hidden = true;
  }
}

// After sign-in: remembered peers and unread counts (from the socket).
export function startDms() {
  convs.clear();
  current = null;
  for (const [id, name] of Object.entries(JSON.parse(localStorage.getItem(peersKey()) || '{}'))) remember(Number(id), name);
  api('GET', '/api/direct-messages/unread').then(({ unread }) => {
    for (const u of unread) {
      const c = remember(u.senderId, u.senderName);
      c.unread = u.count;
      c.lastId = u.lastId;
    }
    renderList();
  }).catch(() => {});
  renderList();
}

export function initDms() {
  list = new MessageList($('dm-messages'), {
    receipt: true,
    loadOlder: (before) => api('GET', `/api/direct-messages/${current}?limit=50&before=${before}`)
      .then((p) => ({ messages: p.messages, hasMore: p.hasMore })),
  });
  wireCompose({
    form: $('dm-form'), input: $('dm-input'), fileInput: $('dm-file'), errorEl: $('dm-error'),
    sendFn: async (content, fileId) => {
      const to = current;
      const ack = await request({ type: 'send_dm', recipientId: to, content, ...(fileId ? { fileId } : {}) });
      if (current === to) list.add(ack.message, false);
    },
  });
  on('ws:new_dm', ({ message: m }) => {
    const mine = m.senderId === session.user.id;
    const peer = mine ? m.recipientId : m.senderId;
    const c = remember(peer, mine ? undefined : m.senderName);
    if (!mine) c.online = true; // it came over the sender's socket
    if (peer === current && viewing()) {
      list.add(m, false);
      if (!mine) markRead(peer);
    } else if (!mine) {
      c.unread++;
      c.lastId = m.id;
      if (peer === current) list.add(m, true);
      toast(`New message from ${m.senderName}`);
    }
    renderList();
  });
  on('ws:read_receipt', (m) => {
    if (m.readerId === current) list.markRead(m.upToId, m.readAt);
  });
  on('ws:presence', (m) => {
    const c = convs.get(m.userId);
    if (!c) return;
    c.online = m.status === 'online';
    c.lastSeen = m.lastSeen;
    renderList();
    if (m.userId === current) renderHead();
  });
  on('dm-peer', (u) => remember(u.id, u.username));
  on('blocks-changed', () => current && renderHead());
  $('dm-call').addEventListener('click', () => {
    const c = convs.get(current);
    if (c) emit('direct-call', { user: { id: c.userId, username: c.username }, media: 'video' });
  });
  $('dm-block').addEventListener('click', async () => {
    const id = current;
    const blocked = isBlocked(id);
    try {
      await setBlocked(id, !blocked);
      toast(blocked ? 'Unblocked' : `Blocked: ${convs.get(id)?.username} can no longer message you`);
    } catch (e) {
      $('dm-error').textContent = e.message;
    }
  });
  $('dm-report').addEventListener('click', () => openReport(current, convs.get(current)?.username || ''));
  document.addEventListener('visibilitychange', () => {
    if (current && viewing()) markRead(current);
  });
  void contactList;
}
