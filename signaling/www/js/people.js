// People: search users, contacts with presence, add/remove, block/unblock,
// report with a reason. The node has no "list my blocks" route, so the
// users this browser blocked are remembered locally.
import { api, session } from './session.js';
import { $, el, emit, fmtLastSeen, toast } from './util.js';

const blockKey = () => `sfu.blocked.${session.user.id}`;
const blockedSet = () => new Set(JSON.parse(localStorage.getItem(blockKey()) || '[]'));
export const isBlocked = (id) => blockedSet().has(id);

export async function setBlocked(id, on) {
  await api(on ? 'POST' : 'DELETE', `/api/users/${id}/block`);
  const s = blockedSet();
  if (on) s.add(id);
  else s.delete(id);
  localStorage.setItem(blockKey(), JSON.stringify([...s]));
  emit('blocks-changed', id);
}

let contacts = new Map();
export const contactList = () => contacts;

let reportTarget = null;
export function openReport(userId, username) {
  reportTarget = userId;
  $('report-title').textContent = `Report ${username}`;
  $('report-reason').value = '';
  $('report-error').textContent = '';
  $('report-dialog').showModal();
}

function userRow(u) {
  const isContact = contacts.has(u.id);
  const blocked = isBlocked(u.id);
  return el('li', { className: 'row-item', dataset: { userId: u.id } },
    el('span', { className: `dot ${u.online ? 'on' : ''}`, attrs: { 'aria-hidden': 'true' } }),
    el('div', { className: 'grow' },
      el('span', { className: 'title' }, u.username),
      el('div', { className: 'muted small' }, fmtLastSeen(u.online, u.lastSeen), blocked ? ' · blocked' : '')),
    el('div', { className: 'actions' },
      el('a', { className: 'button', href: `#/dms/${u.id}`, onclick: () => emit('dm-peer', u), attrs: { 'aria-label': `Message ${u.username}` } }, 'Message'),
      el('button', { type: 'button', onclick: () => emit('direct-call', { user: u, media: 'video' }), attrs: { 'aria-label': `Video call ${u.username}` } }, 'Call'),
      el('button', { type: 'button', onclick: () => emit('direct-call', { user: u, media: 'audio' }), attrs: { 'aria-label': `Voice call ${u.username}` } }, 'Voice'),
      el('button', {
        type: 'button', attrs: { 'aria-label': `${isContact ? 'Remove' : 'Add'} ${u.username} ${isContact ? 'from' : 'to'} contacts` },
        onclick: () => toggleContact(u, isContact),
      }, isContact ? 'Remove contact' : 'Add contact'),
      el('button', {
        type: 'button', className: 'ghost', attrs: { 'aria-label': `${blocked ? 'Unblock' : 'Block'} ${u.username}` },
        onclick: async () => {
          try {
            await setBlocked(u.id, !blocked);
            toast(blocked ? `${u.username} unblocked` : `${u.username} blocked`);
            render();
          } catch (e) {
            $('people-error').textContent = e.message;
          }
        },
      }, blocked ? 'Unblock' : 'Block'),
      el('button', { type: 'button', className: 'ghost', onclick: () => openReport(u.id, u.username), attrs: { 'aria-label': `Report ${u.username}` } }, 'Report')));
}

let results = [];
function render() {
  $('search-results').replaceChildren(...results.filter((u) => u.id !== session.user.id).map(userRow));
  $('contacts').replaceChildren(...[...contacts.values()].map(userRow));
  $('contacts-empty').hidden = contacts.size > 0;
}

async function toggleContact(u, isContact) {
  try {
    if (isContact) {
      await api('DELETE', `/api/contacts/${u.id}`);
      contacts.delete(u.id);
    } else {
      const { contact } = await api('POST', '/api/contacts', { userId: u.id });
      contacts.set(contact.id, contact);
    }
    render();
  } catch (e) {
    $('people-error').textContent = e.message;
  }
}

export async function loadContacts() {
  const { contacts: list } = await api('GET', '/api/contacts');
  contacts = new Map(list.map((c) => [c.id, c]));
  return contacts;
}

export async function showPeople() {
  $('people-error').textContent = '';
  try {
    await loadContacts();
  } catch (e) {
    $('people-error').textContent = e.message;
  }
  render();
}

export function initPeople() {
  $('search-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const q = $('search-q').value.trim();
    if (!q) return;
    $('people-error').textContent = '';
    try {
      ({ users: results } = await api('GET', `/api/users?q=${encodeURIComponent(q)}`));
      render();
      if (!results.length) $('people-error').textContent = `Nobody's name starts with "${q}".`;
    } catch (err) {
      $('people-error').textContent = err.message;
    }
  });
  $('report-cancel').addEventListener('click', () => $('report-dialog').close());
  $('report-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const reason = $('report-reason').value.trim();
    if (!reason) {
      $('report-error').textContent = 'Say what happened.';
      return;
    }
    try {
      await api('POST', `/api/users/${reportTarget}/report`, { reason });
      $('report-dialog').close();
      toast('Report sent. Thank you.');
    } catch (err) {
      $('report-error').textContent = err.message;
    }
  });
}
