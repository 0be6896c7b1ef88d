// WHEP playback in Chromium through the player page Conclave serves (/whep-player): the
// page POSTs a recvonly offer, trickles its candidates by PATCH, plays the stream, and its
// Stop DELETEs the session. Passes when the video element decoded frames of the stream and
// audio arrived, every PATCH was answered 204 and the DELETE 200.
// Env: PLAYER_URL (the player URL with #token=…&stream=…); optional CHROMIUM, CONCLAVE_ARTIFACTS.
// Prints "PLAYING <first frame ms>" once the first frame shows.

import { join } from 'node:path';
import { env, run, newPage, check, log, artifactsDir, pollPage } from './lib.js';

const url = env('PLAYER_URL');

await run('whep', 60000, async (browser) => {
  const page = await newPage(browser, 'player');
  await page.goto(url);
  const first = await pollPage(page, () => window.whep.firstFrameMs || (window.whep.state === 'failed' && -1), null, 30000, 'the first frame');
  check(first > 0, `the player failed: ${await page.evaluate(() => window.whep.error)}`);
  console.log(`PLAYING ${Math.round(first)}`);
  const played = await pollPage(page, () => {
    const v = document.getElementById('video');
    const frames = v.getVideoPlaybackQuality().totalVideoFrames;
    const audio = v.srcObject && v.srcObject.getAudioTracks().length;
    return frames >= 60 && audio && { frames, width: v.videoWidth, height: v.videoHeight };
  }, null, 20000, '60 decoded frames and an audio track');
  const stats = await page.evaluate(async () => {
    let audioBytes = 0;
    (await window.whepPeer.getStats()).forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') audioBytes += r.bytesReceived;
    });
    return { audioBytes, patches: window.whep.patches, state: window.whep.state };
  });
  log('played', played, stats);
  check(stats.audioBytes > 0, 'no audio bytes received');
  check(stats.patches > 0, 'no candidate was trickled by PATCH');
  check(played.width === 320 && played.height === 240, `video is ${played.width}x${played.height}, want the 320x240 test pattern`);
  await page.screenshot({ path: join(artifactsDir(), 'whep-player.png') });
  await page.click('#stop');
  const deleted = await pollPage(page, () => window.whep.deleted, null, 10000, 'the DELETE answer');
  check(deleted === 200, `DELETE answered ${deleted}`);
  return { firstFrameMs: Math.round(first), frames: played.frames, patches: stats.patches };
});
