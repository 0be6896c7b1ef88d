// Two browser pages join the same room through the demo page: each must decode the other's
// video (inbound-rtp bytesReceived and framesDecoded growing), a chat message must arrive, a
// mute must show on the other side, and leaving must remove the tile.
// Env: PORTAL_URL, ROOM; optional CONCLAVE_ARTIFACTS, CHROMIUM.

import { join } from 'node:path';
import { env, run, newPage, joinDemo, waitRemoteVideo, videoStats, sleep, check, log, artifactsDir } from './lib.js';

const portal = env('PORTAL_URL');
const room = env('ROOM');
const shots = artifactsDir();

await run('demo', 80000, async (browser) => {
  const alice = await newPage(browser, 'alice');
  const bob = await newPage(browser, 'bob');
  await Promise.all([joinDemo(alice, portal, room, 'Alice'), joinDemo(bob, portal, room, 'Bob')]);
  log('both joined and publishing');

  const [a1, b1] = await Promise.all([waitRemoteVideo(alice, 'Bob'), waitRemoteVideo(bob, 'Alice')]);
  await sleep(1500);
  const [a2, b2] = await Promise.all([videoStats(alice, a1.id), videoStats(bob, b1.id)]);
  log('alice receives', a1, '→', a2, '; bob receives', b1, '→', b2);
  check(a2.framesDecoded > a1.framesDecoded && a2.bytesReceived > a1.bytesReceived, 'alice: video from Bob stopped growing');
  check(b2.framesDecoded > b1.framesDecoded && b2.bytesReceived > b1.bytesReceived, 'bob: video from Alice stopped growing');
  await bob.waitForFunction(() => [...document.querySelectorAll('#grid video')].every((v) => v.readyState >= 2 && v.videoWidth > 0), null, { timeout: 10000 });

  // chat both ways
  await alice.fill('#chat-input', 'hello from Alice');
  await alice.press('#chat-input', 'Enter');
  await bob.waitForFunction(() => document.querySelector('#messages').textContent.includes('hello from Alice'), null, { timeout: 10000 });
  await bob.fill('#chat-input', 'hi Alice');
  await bob.click('#chat-form button');
  await alice.waitForFunction(() => document.querySelector('#messages').textContent.includes('hi Alice'), null, { timeout: 10000 });
  log('chat delivered both ways');

  // Bob's signaling connection drops: the client relogins with its reconnection ticket and
  // the room's messages reach it again (media keeps flowing on its own connections).
  await bob.evaluate(() => window.conclaveDemo.state.client.socket.io.engine.close());
  await bob.waitForFunction(() => document.querySelector('#status').textContent === 'connected' &&
    window.conclaveDemo.reconnects > 0, null, { timeout: 15000 });
  await alice.fill('#chat-input', 'after the reconnection');
  await alice.press('#chat-input', 'Enter');
  await bob.waitForFunction(() => document.querySelector('#messages').textContent.includes('after the reconnection'), null, { timeout: 10000 });
  log('bob reconnected with the ticket');

  // participant lists
  for (const p of [alice, bob]) {
    await p.waitForFunction(() => document.querySelectorAll('#participants li').length === 2, null, { timeout: 10000 });
  }

  // Alice mutes her microphone: Bob's tile of Alice shows it; then unmute shows it gone.
  const aliceStream = b1.id;
  const tileSel = `.tile[data-key="${aliceStream}"]`;
  await alice.click('#toggle-audio');
  await bob.waitForSelector(`${tileSel}[data-audio="muted"] .mute-audio:not(.hidden)`, { timeout: 10000 });
  log('mute shown on the other side');
  await alice.screenshot({ path: join(shots, 'demo-alice.png') });
  await bob.screenshot({ path: join(shots, 'demo-bob.png') });
  await alice.click('#toggle-audio');
  await bob.waitForSelector(`${tileSel}[data-audio="on"]`, { timeout: 10000 });
  await alice.click('#toggle-video');
  await bob.waitForSelector(`${tileSel}[data-video="muted"]`, { timeout: 10000 });
  await alice.click('#toggle-video');
  await bob.waitForSelector(`${tileSel}[data-video="on"]`, { timeout: 10000 });

  // Phone-sized viewport: no horizontal scrolling, grid and controls visible.
  await bob.setViewportSize({ width: 390, height: 844 });
  await sleep(300);
  const overflow = await bob.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 0, `phone viewport scrolls horizontally by ${overflow}px`);
  await bob.screenshot({ path: join(shots, 'demo-bob-phone.png') });
  await bob.setViewportSize({ width: 1280, height: 800 });

  // Alice leaves: her tile disappears at Bob's, and she leaves the participant list.
  await alice.click('#leave');
  await alice.waitForFunction(() => document.body.dataset.state === 'left', null, { timeout: 5000 });
  await bob.waitForSelector(tileSel, { state: 'detached', timeout: 10000 });
  await bob.waitForFunction(() => document.querySelectorAll('#participants li').length === 1, null, { timeout: 10000 });
  log('leave removed the tile');
  return { aliceReceived: a2, bobReceived: b2 };
});
