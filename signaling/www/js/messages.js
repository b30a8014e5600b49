// Rendering of message lists shared by room chat and direct messages: day
// separators, times, clickable links, attachments with image previews, an
// unread marker, and paging back through history on scroll.
import { fetchFile, session, upload } from './session.js';
import { dayKey, el, fmtDay, fmtTime, linkify } from './util.js';

function attachment(fileId, label) {
  const box = el('div', { className: 'attachment' }, el('span', { className: 'muted small' }, 'Loading attachment…'));
  fetchFile(fileId).then((f) => {
    const download = el('button', {
      type: 'button', className: 'link small',
      onclick: () => {
        const a = el('a', { href: URL.createObjectURL(f.blob), download: label || `file-${fileId.slice(0, 8)}` });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      },
    }, f.type === 'application/pdf' ? 'Download PDF' : 'Download');
    const parts = [];
    if (f.dataUrl) parts.push(el('img', { src: f.dataUrl, alt: `Shared image: ${label}`, className: 'preview-img', loading: 'lazy' }));
    else parts.push(el('span', { className: 'file-chip' }, `📄 ${label}`));
    parts.push(download);
    box.replaceChildren(...parts);
  }).catch(() => box.replaceChildren(el('span', { className: 'muted small' }, 'Attachment not available')));
  return box;
}

export function messageNode(m, { receipt } = {}) {
  const mine = m.senderId === session.user.id;
  return el('li', { className: `msg${mine ? ' mine' : ''}`, dataset: { id: m.id } },
    el('div', { className: 'meta' },
      el('span', { className: 'sender' }, mine ? 'You' : m.senderName),
      el('time', { dateTime: m.createdAt, title: new Date(m.createdAt).toLocaleString() }, fmtTime(m.createdAt)),
      receipt && mine ? el('span', { className: 'receipt', dataset: { read: m.readAt ? 'true' : 'false' } }, m.readAt ? 'Read' : 'Sent') : null),
    el('p', { className: 'body' }, linkify(m.content)),
    m.fileId ? attachment(m.fileId, m.content) : null);
}

// A scrolling list of messages, oldest at the top. loadOlder(beforeId)
// resolves {messages (newest first), hasMore}.
export class MessageList {
  constructor(listEl, { loadOlder, receipt = false }) {
    this.listEl = listEl;
    this.loadOlderFn = loadOlder;
    this.receipt = receipt;
    this.reset();
    listEl.addEventListener('scroll', () => {
      if (listEl.scrollTop < 60) this.loadOlder();
    });
  }

  reset() {
    this.msgs = new Map();
    this.hasMore = false;
    this.loading = false;
    this.unreadFrom = null;
    this.listEl.replaceChildren();
  }

  sorted() {
    return [...this.msgs.values()].sort((a, b) => a.id - b.id);
  }

  nearBottom() {
    const l = this.listEl;
    return l.scrollHeight - l.scrollTop - l.clientHeight < 80;
  }

  // Replaces the content (oldest first) and scrolls to the end.
  set(messages, hasMore) {
    this.msgs = new Map(messages.map((m) => [m.id, m]));
    this.hasMore = hasMore;
    this.render();
    this.listEl.scrollTop = this.listEl.scrollHeight;
  }

  render() {
    const items = [];
    if (this.hasMore) {
      items.push(el('li', { className: 'older' }, el('button', { type: 'button', className: 'link', onclick: () => this.loadOlder() },
        this.loading ? 'Loading…' : 'Load older messages')));
    } else if (this.msgs.size) items.push(el('li', { className: 'day' }, 'Beginning of the conversation'));
    let day = null;
    for (const m of this.sorted()) {
      const k = dayKey(m.createdAt);
      if (k !== day) {
        day = k;
        items.push(el('li', { className: 'day', attrs: { role: 'separator' } }, fmtDay(m.createdAt)));
      }
      if (m.id === this.unreadFrom) items.push(el('li', { className: 'unread-marker', attrs: { role: 'separator' } }, 'New messages'));
      items.push(messageNode(m, { receipt: this.receipt }));
    }
    this.listEl.replaceChildren(...items);
  }

  async loadOlder() {
    if (!this.hasMore || this.loading || !this.msgs.size) return;
    this.loading = true;
    const oldest = this.sorted()[0].id;
    try {
      const page = await this.loadOlderFn(oldest);
      const l = this.listEl;
      const fromBottom = l.scrollHeight - l.scrollTop;
      for (const m of page.messages) this.msgs.set(m.id, m);
      this.hasMore = page.hasMore;
      this.loading = false;
      this.render();
      l.scrollTop = l.scrollHeight - fromBottom;
    } catch {
      this.loading = false;
    }
  }

  // A new live message; markUnread when the reader is not looking.
  add(m, markUnread) {
    if (this.msgs.has(m.id)) return;
    const stick = this.nearBottom() || m.senderId === session.user.id;
    if (markUnread && this.unreadFrom === null && m.senderId !== session.user.id) this.unreadFrom = m.id;
    this.msgs.set(m.id, m);
    const last = this.sorted().at(-2);
    if (!last || dayKey(last.createdAt) !== dayKey(m.createdAt)) this.render();
    else {
      if (m.id === this.unreadFrom) this.listEl.append(el('li', { className: 'unread-marker', attrs: { role: 'separator' } }, 'New messages'));
      this.listEl.append(messageNode(m, { receipt: this.receipt }));
    }
    if (stick) this.listEl.scrollTop = this.listEl.scrollHeight;
  }

  markRead(upToId, readAt) {
    let changed = false;
    for (const m of this.msgs.values()) {
      if (m.senderId === session.user.id && m.id <= upToId && !m.readAt) {
        m.readAt = readAt;
        changed = true;
      }
    }
    if (changed) {
      for (const r of this.listEl.querySelectorAll('.msg.mine .receipt[data-read=false]')) {
        if (Number(r.closest('.msg').dataset.id) <= upToId) {
          r.dataset.read = 'true';
          r.textContent = 'Read';
        }
      }
    }
  }
}

// Wires a compose form: Enter sends, Shift+Enter is a new line, a chosen
// file is uploaded and sent with the text (or its name). sendFn(content,
// fileId) resolves when the node acknowledged.
export function wireCompose({ form, input, fileInput, errorEl, sendFn, onTyping }) {
  const submit = async (file) => {
    const text = input.value;
    if (!file && !text.trim()) return;
    errorEl.textContent = '';
    let fileId = null;
    const button = form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      if (file) {
        errorEl.textContent = `Uploading ${file.name}…`;
        fileId = (await upload(file)).id;
        errorEl.textContent = '';
      }
      await sendFn(text.trim() ? text : file.name, fileId);
      input.value = '';
      input.style.height = '';
    } catch (e) {
      errorEl.textContent = e.code === 'blocked' ? 'This person is not accepting your messages.' : `Not sent: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit(null);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit(null);
    }
  });
  input.addEventListener('input', () => {
    input.style.height = '';
    input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
    onTyping?.(input.value);
  });
  fileInput.addEventListener('change', async () => {
    const f = fileInput.files[0];
    fileInput.value = '';
    if (f) await submit(f);
  });
}
