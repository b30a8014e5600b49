// Rooms: the list, creating (public or private) and joining by code or link.
import { api } from './session.js';
import { $, busy, el, fmtDateTime, parseRoomCode } from './util.js';

export async function showHome() {
  try {
    const { rooms } = await api('GET', '/api/rooms');
    $('rooms-empty').hidden = rooms.length > 0;
    $('room-list').replaceChildren(...rooms.map((r) => el('li', { className: 'row-item', dataset: { code: r.code } },
      el('div', { className: 'grow' },
        el('a', { href: `#/room/${r.code}`, className: 'title' }, r.name),
        r.private ? el('span', { className: 'pill' }, 'Private') : null,
        el('div', { className: 'muted small' }, `${r.memberCount} member${r.memberCount === 1 ? '' : 's'} · created ${fmtDateTime(r.createdAt)} · `, el('code', {}, r.code))),
      el('a', { href: `#/room/${r.code}`, className: 'button', attrs: { 'aria-label': `Open ${r.name}` } }, 'Open'))));
  } catch (e) {
    $('create-error').textContent = `Could not load rooms: ${e.message}`;
  }
}

export function initHome() {
  $('create-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    $('create-error').textContent = '';
    const name = $('room-name').value.trim();
    if (!name) {
      $('create-error').textContent = 'Give the room a name.';
      $('room-name').focus();
      return;
    }
    const isPrivate = document.querySelector('input[name=visibility]:checked').value === 'private';
    await busy($('create-submit'), 'Creating…', async () => {
      try {
        const { room } = await api('POST', '/api/rooms', { name, private: isPrivate });
        e.target.reset();
        location.hash = `#/room/${room.code}`;
      } catch (err) {
        $('create-error').textContent = err.message;
      }
    });
  });
  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const code = parseRoomCode($('join-code').value);
    if (!code) {
      $('join-error').textContent = 'That is not a room code (abcd-efgh-ijkl) or an invite link.';
      $('join-code').focus();
      return;
    }
    $('join-error').textContent = '';
    e.target.reset();
    location.hash = `#/room/${code}`;
  });
}
