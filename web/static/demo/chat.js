// Chat panel of the demo page (docs/chat.md): the history of the login answer, live `chat`
// events, edit and delete buttons on one's own messages, and the eight reactions with counts,
// toggled by clicking. Message content and names are inserted as text (textContent), never as
// HTML: the server forwards content verbatim.

import { REACTIONS } from './lib/conclave.js';

/** How the demo shows each reaction type. */
export const REACTION_EMOJI = Object.freeze({
  thumbsUp: '👍', thumbsDown: '👎', laugh: '😄', confused: '😕',
  celebrate: '🎉', oneHundred: '💯', questionMark: '❓', clap: '👏',
});

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** ChatPanel renders one client's chat into a list element (shared with system lines). */
export class ChatPanel {
  /**
   * @param {ConferenceClient} client
   * @param {HTMLElement} list the <ol> of messages
   * @param {(message: string) => void} onError shows a failed request
   */
  constructor(client, list, onError) {
    this.client = client;
    this.list = list;
    this.onError = onError;
    this.names = new Map(); // participant id → display name, kept after the participant left
    this.messages = new Map(); // message id → latest message
    this.rows = new Map(); // message id → <li>
    client.addEventListener('chathistory', (e) => {
      for (const p of client.participants.values()) this.names.set(p.id, p.name || p.user);
      e.detail.messages.forEach((m) => this.render(m));
    });
    client.addEventListener('participantjoined', (e) => this.names.set(e.detail.participant.id, e.detail.participant.name || e.detail.participant.user));
    client.addEventListener('participantupdated', (e) => this.rename(e.detail.participant));
    client.addEventListener('chat', (e) => this.onChat(e.detail));
  }

  /** Display name of a sender. */
  nameOf(id) {
    if (id === 'service') return 'service';
    return this.names.get(id) || (this.client.participants.has(id) ? this.client.nameOf(id) : 'a former participant');
  }

  /** A participant's display name changed (docs/people.md): its rows show the new one. */
  rename(p) {
    const name = p.name || p.user;
    this.names.set(p.id, name);
    for (const li of this.rows.values()) {
      if (li.dataset.from === p.id) li.querySelector('.from').textContent = name;
    }
  }

  onChat({ action, message }) {
    if (action === 'delete') {
      const li = this.rows.get(message.id);
      if (li) li.remove();
      this.rows.delete(message.id);
      this.messages.delete(message.id);
      return;
    }
    if (action !== 'new' && !this.rows.has(message.id)) return; // older than what we show
    this.render(message);
  }

  /** Adds the row of a message, or updates it. */
  render(m) {
    this.messages.set(m.id, m);
    let li = this.rows.get(m.id);
    if (!li) {
      li = this.build(m);
      this.rows.set(m.id, li);
      this.list.append(li);
      li.scrollIntoView({ block: 'end' });
    }
    li.querySelector('.content').textContent = m.content;
    li.querySelector('.edited').classList.toggle('hidden', !m.edited);
    const me = this.client.me.id;
    for (const b of li.querySelectorAll('.reactions button')) {
      const who = (m.reactions && m.reactions[b.dataset.reaction]) || [];
      b.dataset.count = String(who.length);
      b.textContent = who.length ? `${REACTION_EMOJI[b.dataset.reaction]} ${who.length}` : REACTION_EMOJI[b.dataset.reaction];
      b.setAttribute('aria-pressed', String(who.includes(me)));
      b.classList.toggle('zero', who.length === 0);
    }
  }

  build(m) {
    const li = el('li', 'msg');
    li.dataset.id = m.id;
    li.dataset.from = m.from;
    const meta = el('div', 'meta');
    meta.append(el('span', 'from', this.nameOf(m.from)));
    if (m.to !== 'all') meta.append(el('span', 'badge', `to ${this.nameOf(m.to)}`));
    meta.append(el('span', 'edited muted hidden', '(edited)'), el('span', 'grow'));
    if (m.from === this.client.me.id) {
      const edit = el('button', 'edit small', 'Edit');
      const del = el('button', 'delete small', 'Delete');
      edit.type = del.type = 'button';
      edit.addEventListener('click', () => this.startEdit(li));
      del.addEventListener('click', () => this.request('delete', () => this.client.deleteMessage(m.id)));
      meta.append(edit, del);
    }
    const reactions = el('div', 'reactions');
    for (const r of REACTIONS) {
      const b = el('button', 'small');
      b.type = 'button';
      b.dataset.reaction = r;
      b.title = r;
      b.addEventListener('click', () => {
        const cur = this.messages.get(m.id);
        const mine = ((cur && cur.reactions && cur.reactions[r]) || []).includes(this.client.me.id);
        this.request('react', () => this.client.react(m.id, r, !mine));
      });
      reactions.append(b);
    }
    li.append(meta, el('div', 'content'), reactions);
    return li;
  }

  /** Replaces the content with an input until Enter (save) or Escape (cancel). */
  startEdit(li) {
    if (li.classList.contains('editing')) return;
    const id = li.dataset.id;
    const form = el('form', 'edit row');
    const input = el('input', 'grow');
    input.value = this.messages.get(id).content;
    input.setAttribute('aria-label', 'Edit message');
    const save = el('button', 'primary small', 'Save');
    save.type = 'submit';
    form.append(input, save);
    const done = () => {
      form.remove();
      li.classList.remove('editing');
    };
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const text = input.value.trim();
      if (text && text !== this.messages.get(id).content) await this.request('edit', () => this.client.editMessage(id, text));
      done();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') done();
    });
    li.classList.add('editing');
    li.querySelector('.content').after(form);
    input.focus();
  }

  async request(what, fn) {
    try {
      await fn();
    } catch (e) {
      this.onError(`Could not ${what} the message: ${e.message}`);
    }
  }
}
