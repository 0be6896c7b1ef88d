// A browser page joins ROOM through the demo page next to a Go client (web/web_test.go). The
// page publishes VP8 with simulcast (?codec=vp8&simulcast=1; the Go side subscribes to the
// stream and counts its frames) and must decode the Go client's video. It prints BROWSER_OK
// with its statistics, then stays in the room until the file DONE_FILE exists.
// Env: PORTAL_URL, ROOM, PEER (the Go client's user name), DONE_FILE.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { env, run, newPage, joinDemo, waitRemoteVideo, videoStats, pollPage, sleep, check, log, artifactsDir } from './lib.js';

const portal = env('PORTAL_URL');
const room = env('ROOM');
const peer = env('PEER');
const doneFile = env('DONE_FILE');

async function goSideDone() {
  while (!existsSync(doneFile)) await sleep(100);
}

await run('gopeer', 60000, async (browser) => {
  const page = await newPage(browser, 'browser');
  await joinDemo(page, portal, room, 'Browser', '?codec=vp8&simulcast=1');
  const rids = await pollPage(page, () => {
    const s = window.conclaveDemo.state;
    const own = s.client.streams.get(s.publication.id);
    return own && own.media.tracks.filter((t) => t.type === 'video').map((t) => t.rid || '');
  }, null, 10000, 'the own stream');
  log('published video tracks with rids', rids);
  check(rids.length >= 2 && rids.every((r) => r), `simulcast was not published: rids ${JSON.stringify(rids)}`);

  log('joined; waiting for', peer);
  const s1 = await waitRemoteVideo(page, peer, 20, 30000);
  await sleep(1000);
  const s2 = await videoStats(page, s1.id);
  check(s2.framesDecoded > s1.framesDecoded, `video from ${peer} stopped growing`);
  log('decoding the Go client:', s2);
  await page.screenshot({ path: join(artifactsDir(), 'gopeer-browser.png') });
  console.log('BROWSER_OK');
  await goSideDone(); // bounded by run()'s timeout
  return { received: s2, simulcastRids: rids };
});
