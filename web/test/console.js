// The operator console creates a room, sees a participant who joined from the demo page, its
// stream and the chat message it sent (as text), mutes the stream, starts and stops a
// recording (or shows the API error clearly when recording is unavailable), drops the
// participant (the demo page says so), edits and deletes the room.
// Env: API_URL, PORTAL_URL, SERVICE_ID, SERVICE_KEY, ROOM.

import { join } from 'node:path';
import { env, run, newPage, joinDemo, check, log, artifactsDir } from './lib.js';

const api = env('API_URL');
const portal = env('PORTAL_URL');
const room = env('ROOM');

/** Waits for a condition that the console's auto-refresh (3 s) will make true. */
function until(page, fn, arg, timeout = 15000) {
  return page.waitForFunction(fn, arg, { timeout, polling: 200 });
}

await run('console', 80000, async (browser) => {
  const consolePage = await newPage(browser, 'console', { width: 1360, height: 900 });
  await consolePage.goto(api + '/console');
  // a wrong key is refused with a clear message
  await consolePage.fill('#service-id', env('SERVICE_ID'));
  await consolePage.fill('#service-key', 'wrong-key');
  await consolePage.click('#signin-form button');
  await consolePage.waitForSelector('#signin-error:not(.hidden)', { timeout: 10000 });
  const refused = await consolePage.textContent('#signin-error');
  check(/401/.test(refused), `sign-in error does not show the 401: ${refused}`);
  await consolePage.fill('#service-key', env('SERVICE_KEY'));
  await consolePage.click('#signin-form button');
  await until(consolePage, () => document.body.dataset.state === 'signed-in');
  const stored = await consolePage.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie);
  check(!stored.includes(process.env.SERVICE_KEY || '\u0000'), 'the key was persisted');

  await consolePage.fill('#new-room', room);
  await consolePage.click('#create-form button');
  await until(consolePage, (room) => document.querySelector('#room-name').textContent === room, room);
  const roomId = await consolePage.textContent('#room-id');
  log('console created room', roomId);

  const demo = await newPage(browser, 'demo');
  await joinDemo(demo, portal, room, 'Dana');
  await until(consolePage, () => !!document.querySelector('#participants tr[data-user="Dana"]'));
  await until(consolePage, () => document.querySelectorAll('#streams tr[data-type="forward"]').length === 1);
  log('console sees the participant and the stream');

  // a chat message sent from the demo page shows in the console's chat, as text
  const said = 'hi <b>operators</b>';
  await demo.fill('#chat-input', said);
  await demo.press('#chat-input', 'Enter');
  await until(consolePage, (said) => [...document.querySelectorAll('#messages tr[data-id] td')].some((td) => td.textContent === said), said);
  const chat = await consolePage.evaluate(() => ({
    from: document.querySelector('#messages tr[data-id] td:nth-child(2)').textContent,
    bold: document.querySelectorAll('#messages b').length,
  }));
  check(chat.from === 'Dana' && chat.bold === 0, `console chat row: ${JSON.stringify(chat)}`);
  log('console lists the chat message');

  // the room's default view is a mixed stream; the console mixes the camera into it
  await until(consolePage, () => document.querySelectorAll('#streams tr[data-type="mixed"]').length === 1);
  await consolePage.click('#streams tr[data-type="forward"] button.mix');
  await until(consolePage, () => /Unmix/.test(document.querySelector('#streams tr[data-type="forward"] button.mix').textContent));
  log('console mixed the stream into the view');

  // mute the video from the console: the publisher's page shows it
  await consolePage.click('#streams tr[data-type="forward"] button.mute-video');
  await demo.waitForSelector('.tile.local[data-video="muted"]', { timeout: 10000 });
  await until(consolePage, () => document.querySelector('#streams tr[data-type="forward"] button.mute-video').textContent === 'Unmute');
  await consolePage.click('#streams tr[data-type="forward"] button.mute-video');
  await demo.waitForSelector('.tile.local[data-video="on"]', { timeout: 10000 });
  log('console mute reached the page');

  // recording: started and stopped, or a clear API error
  await until(consolePage, () => document.querySelector('#recording-stream').value !== '');
  await consolePage.click('#recording-form button');
  const outcome = await until(consolePage, () => {
    if (document.querySelector('#recordings tr[data-id]')) return 'started';
    const err = document.querySelector('#error');
    return !err.classList.contains('hidden') && err.textContent.includes('/recordings') ? 'error' : false;
  }, null, 30000).then((h) => h.jsonValue());
  let recording;
  if (outcome === 'started') {
    recording = { started: true, id: await consolePage.getAttribute('#recordings tr[data-id]', 'data-id') };
    await consolePage.screenshot({ path: join(artifactsDir(), 'console.png'), fullPage: true });
    await consolePage.click('#recordings tr[data-id] button.stop');
    await until(consolePage, () => !document.querySelector('#recordings tr[data-id]'));
    recording.stopped = true;
  } else {
    recording = { started: false, error: (await consolePage.textContent('#error-text')).trim() };
    check(/POST \/v1\/rooms\/\S+\/recordings → \d{3}/.test(recording.error), `unclear error: ${recording.error}`);
    await consolePage.screenshot({ path: join(artifactsDir(), 'console.png'), fullPage: true });
    await consolePage.click('#error-close');
  }
  log('recording:', recording);

  // drop the participant: the demo page says it was removed
  await consolePage.click('#participants tr[data-user="Dana"] button.drop');
  await demo.waitForFunction(() => document.body.dataset.state === 'dropped', null, { timeout: 10000 });
  const banner = await demo.textContent('#lobby-error');
  check(/removed/.test(banner), `dropped page says: ${banner}`);
  await demo.screenshot({ path: join(artifactsDir(), 'demo-dropped.png') });
  await until(consolePage, () => !document.querySelector('#participants tr[data-user="Dana"]'));
  log('participant dropped');

  // edit the room (form and JSON editor), then delete it
  await consolePage.fill('#q-plimit', '7');
  await consolePage.click('#quick-form button');
  await until(consolePage, () => document.querySelector('#room-json').value.includes('"participantLimit": 7'));
  await consolePage.click('#room details summary');
  const json = await consolePage.inputValue('#room-json');
  await consolePage.fill('#room-json', json.replace(/"inputLimit": -?\d+/, '"inputLimit": 3'));
  await consolePage.click('#save-json');
  await until(consolePage, () => document.querySelector('#q-ilimit').value === '3');
  check(await consolePage.isHidden('#error'), `edit failed: ${await consolePage.textContent('#error-text')}`);
  await consolePage.click('#delete-room');
  await until(consolePage, (id) => !document.querySelector(`#rooms tr[data-id="${id}"]`), roomId);
  log('room edited and deleted');
  return { roomId, recording };
});
