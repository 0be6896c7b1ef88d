// Chat through the demo page (docs/chat.md): Alice sends two messages (one looks like HTML);
// Bob, joining later, finds them in his history at join; Bob's reaction shows its count at
// Alice's and toggles off again; Alice's edit and delete reach Bob; the HTML-looking content
// shows literally on both pages; Bob's library attempt to edit Alice's message is refused.
// Env: PORTAL_URL, ROOM; optional CONCLAVE_ARTIFACTS, CHROMIUM.

import { join } from 'node:path';
import { env, run, newPage, joinDemo, check, log, artifactsDir } from './lib.js';

const portal = env('PORTAL_URL');
const room = env('ROOM');
const shots = artifactsDir();
const HTML = '<img src=x onerror=alert(1)>';
const T = { timeout: 10000 };

/** Sends text from the page's chat form and returns the message id, once its row shows. */
async function send(page, text) {
  await page.fill('#chat-input', text);
  await page.press('#chat-input', 'Enter');
  const h = await page.waitForFunction((text) => {
    const row = [...document.querySelectorAll('#messages li.msg')].find((li) => li.querySelector('.content').textContent === text);
    return row && row.dataset.id;
  }, text, T);
  return h.jsonValue();
}

/** The row selector of message id. */
const row = (id) => `#messages li.msg[data-id="${id}"]`;

/** Waits until message id's content reads text on page. */
async function waitContent(page, id, text) {
  await page.waitForFunction(({ sel, text }) => {
    const c = document.querySelector(`${sel} .content`);
    return c && c.textContent === text;
  }, { sel: row(id), text }, T);
}

/** Checks that message id shows text literally, once, and that no element came out of it. */
async function checkLiteral(page, who, id, text) {
  const r = await page.evaluate(({ sel, text }) => ({
    content: document.querySelector(`${sel} .content`).textContent,
    children: document.querySelector(`${sel} .content`).children.length,
    imgs: document.querySelectorAll('#messages img').length,
    rows: [...document.querySelectorAll('#messages li.msg .content')].filter((c) => c.textContent === text).length,
  }), { sel: row(id), text });
  check(r.content === text && r.children === 0 && r.imgs === 0, `${who}: the HTML-looking message is not shown literally: ${JSON.stringify(r)}`);
  check(r.rows === 1, `${who}: the message shows ${r.rows} times (text and chat both shown?)`);
}

await run('chat', 60000, async (browser) => {
  const alice = await newPage(browser, 'alice');
  const alerts = [];
  alice.on('dialog', (d) => alerts.push(`alice: ${d.message()}`));
  await joinDemo(alice, portal, room, 'Alice');
  const first = await send(alice, 'first message');
  const html = await send(alice, HTML);
  log('alice sent', first, html);

  // Bob joins after the messages were sent: only the login history can have them.
  const bob = await newPage(browser, 'bob');
  bob.on('dialog', (d) => alerts.push(`bob: ${d.message()}`));
  await joinDemo(bob, portal, room, 'Bob');
  const hist = await bob.evaluate(() => window.conclaveDemo.state.client.messages.map((m) => m.id));
  check(hist.includes(first) && hist.includes(html), `bob's login history ${JSON.stringify(hist)} lacks ${first}, ${html}`);
  await waitContent(bob, first, 'first message');
  const from = await bob.textContent(`${row(first)} .from`);
  check(from === 'Alice', `bob shows the sender as ${JSON.stringify(from)}, want Alice`);
  check(await bob.locator(`${row(first)} button.edit`).count() === 0, "bob has an edit button on Alice's message");
  await checkLiteral(alice, 'alice', html, HTML);
  await checkLiteral(bob, 'bob', html, HTML);
  log('history at join, sender name, literal HTML');

  // Bob reacts: Alice sees the count; a second click takes it back.
  const thumb = `${row(first)} .reactions button[data-reaction="thumbsUp"]`;
  await bob.click(thumb);
  await alice.waitForSelector(`${thumb}[data-count="1"]`, T);
  await bob.waitForSelector(`${thumb}[aria-pressed="true"]`, T);
  const shown = await alice.textContent(thumb);
  check(shown.includes('1'), `alice's reaction button reads ${JSON.stringify(shown)}`);
  await alice.screenshot({ path: join(shots, 'chat-alice.png') });
  await bob.click(thumb);
  await alice.waitForSelector(`${thumb}[data-count="0"]`, T);
  log('reaction counted and toggled off');

  // Alice edits through the panel: Bob sees the new text and the edited mark.
  await alice.click(`${row(first)} button.edit`);
  await alice.fill(`${row(first)} form.edit input`, 'first message, edited');
  await alice.press(`${row(first)} form.edit input`, 'Enter');
  await waitContent(bob, first, 'first message, edited');
  await bob.waitForSelector(`${row(first)} .edited:not(.hidden)`, T);
  log('edit delivered');

  // Bob may not edit Alice's message: the library rejects with the server's error.
  const refused = await bob.evaluate(async (id) => {
    try {
      await window.conclaveDemo.state.client.editMessage(id, 'hijacked');
      return '';
    } catch (e) {
      return e.serverMessage || e.message || 'error';
    }
  }, first);
  check(refused !== '', "bob's edit of Alice's message was accepted");
  check(/sender/i.test(refused), `bob's edit refused with an unexpected error: ${refused}`);
  log('bob refused:', refused);

  // Alice deletes: the row goes on both pages.
  await alice.click(`${row(first)} button.delete`);
  await bob.waitForSelector(row(first), { state: 'detached', ...T });
  await alice.waitForSelector(row(first), { state: 'detached', ...T });
  const left = await bob.evaluate((id) => window.conclaveDemo.state.client.messages.some((m) => m.id === id), first);
  check(!left, "bob's client still lists the deleted message");
  await waitContent(bob, html, HTML); // the other message stays
  await bob.screenshot({ path: join(shots, 'chat-bob.png') });
  check(alerts.length === 0, `dialogs opened: ${alerts.join('; ')}`);
  return { refused };
});
