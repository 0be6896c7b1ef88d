// Display names and media state through the demo page (docs/people.md): Alice renames herself
// from the side panel; Bob sees the new name on her tile, in his participant list and as the
// sender of her chat message. Alice stops her camera: Bob's tile of her shows "camera off",
// her stream's video is muted (OWT status inactive) and her media state says camera off;
// starting it again undoes all three.
// Env: PORTAL_URL, ROOM; optional CONCLAVE_ARTIFACTS, CHROMIUM.

import { join } from 'node:path';
import { env, run, newPage, joinDemo, waitRemoteVideo, check, log, artifactsDir } from './lib.js';

const portal = env('PORTAL_URL');
const room = env('ROOM');
const T = { timeout: 10000 };
const NEW_NAME = 'Alice <Liddell>';

await run('people', 60000, async (browser) => {
  const alice = await newPage(browser, 'alice');
  const bob = await newPage(browser, 'bob');
  await joinDemo(alice, portal, room, 'Alice');
  await joinDemo(bob, portal, room, 'Bob');
  const remote = await waitRemoteVideo(bob, 'Alice');
  const aliceId = await alice.evaluate(() => window.conclaveDemo.state.client.me.id);
  const tile = `.tile[data-key="${remote.id}"]`;
  log('bob receives alice', remote.id, aliceId);

  // Alice renames herself; both pages show the new name (as text)
  await alice.fill('#rename-input', NEW_NAME);
  await alice.press('#rename-input', 'Enter');
  await bob.waitForFunction(({ tile, name }) => document.querySelector(`${tile} .name`).textContent === name,
    { tile, name: NEW_NAME }, T);
  await bob.waitForSelector(`#participants li[data-id="${aliceId}"][data-name="${NEW_NAME}"]`, T);
  await alice.waitForFunction((name) => document.querySelector('.tile.local .name').textContent === `${name} (you)`, NEW_NAME, T);
  const known = await bob.evaluate((id) => window.conclaveDemo.state.client.participants.get(id).name, aliceId);
  check(known === NEW_NAME, `bob's client has alice's name as ${JSON.stringify(known)}`);
  log('rename seen');

  // her chat message shows the new name at Bob's
  await alice.fill('#chat-input', 'hello as my new self');
  await alice.press('#chat-input', 'Enter');
  const from = await bob.waitForFunction(() => {
    const row = [...document.querySelectorAll('#messages li.msg')].find((li) => li.querySelector('.content').textContent === 'hello as my new self');
    return row && row.querySelector('.from').textContent;
  }, null, T).then((h) => h.jsonValue());
  check(from === NEW_NAME, `bob shows the sender as ${JSON.stringify(from)}, want ${NEW_NAME}`);
  check(await bob.locator('#messages img, #participants img').count() === 0, 'the name was inserted as HTML');

  // Alice stops her camera: Bob sees camera off, the stream muted and her media state
  await alice.click('#toggle-video');
  await bob.waitForSelector(`${tile}[data-video="muted"] .mute-video:not(.hidden)`, T);
  const off = await bob.waitForFunction(({ sid, pid }) => {
    const c = window.conclaveDemo.state.client;
    const s = c.streams.get(sid);
    const p = c.participants.get(pid);
    const muted = s.media.tracks.filter((t) => t.type === 'video').every((t) => t.status === 'inactive');
    return muted && p.mediaState && p.mediaState.cameraEnabled === false && p.mediaState;
  }, { sid: remote.id, pid: aliceId }, T).then((h) => h.jsonValue());
  await bob.waitForSelector(`#participants li[data-id="${aliceId}"] .cam-off`, T);
  await bob.screenshot({ path: join(artifactsDir(), 'people-bob.png') });
  log('camera off seen', off);

  // and starts it again
  await alice.click('#toggle-video');
  await bob.waitForSelector(`${tile}[data-video="on"]`, T);
  await bob.waitForFunction((pid) => {
    const p = window.conclaveDemo.state.client.participants.get(pid);
    return p.mediaState && p.mediaState.cameraEnabled === true;
  }, aliceId, T);
  check(await bob.locator(`#participants li[data-id="${aliceId}"] .cam-off`).count() === 0, 'camera off still listed');
  log('camera on seen');
  return { stream: remote.id, mediaState: off };
});
