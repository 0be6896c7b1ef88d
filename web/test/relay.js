// Two pages join one room through the demo page from a network that drops every UDP packet
// (web/turn_test.go runs this script in such a network namespace): each must decode the
// other's video, and every RTCPeerConnection of both pages must have selected a candidate
// pair whose local candidate is relayed (TURN over TCP, with the ICE servers the portal
// handed out at login).
// Env: PORTAL_URL, ROOM; optional CHROMIUM, CHROMIUM_ARGS_EXTRA, CONCLAVE_ARTIFACTS.

import { env, run, newPage, joinDemo, waitRemoteVideo, videoStats, sleep, check, log } from './lib.js';

const portal = env('PORTAL_URL');
const room = env('ROOM');

/** The local and remote candidate types and protocols of every session's selected pair. */
async function selectedPairs() {
  const out = [];
  for (const session of window.conclaveDemo.state.client.sessions.values()) {
    const stats = await session.pc.getStats();
    let pair = null;
    stats.forEach((r) => {
      if (r.type === 'transport' && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId);
    });
    if (!pair) { out.push({ session: session.id, selected: false }); continue; }
    const local = stats.get(pair.localCandidateId);
    const remote = stats.get(pair.remoteCandidateId);
    out.push({ session: session.id, selected: true, local: local.candidateType, relayProtocol: local.relayProtocol || '',
      remote: remote.candidateType, bytesReceived: pair.bytesReceived || 0 });
  }
  return out;
}

await run('relay', 90000, async (browser) => {
  const started = Date.now();
  const alice = await newPage(browser, 'alice');
  const bob = await newPage(browser, 'bob');
  await Promise.all([joinDemo(alice, portal, room, 'Alice'), joinDemo(bob, portal, room, 'Bob')]);
  const [a1, b1] = await Promise.all([waitRemoteVideo(alice, 'Bob'), waitRemoteVideo(bob, 'Alice')]);
  log(`both decode the other's video ${Date.now() - started} ms after opening the pages`);
  await sleep(1000);
  const [a2, b2] = await Promise.all([videoStats(alice, a1.id), videoStats(bob, b1.id)]);
  check(a2.framesDecoded > a1.framesDecoded && b2.framesDecoded > b1.framesDecoded, 'video stopped flowing');
  for (const [name, page] of [['alice', alice], ['bob', bob]]) {
    const pairs = await page.evaluate(selectedPairs);
    log(name, 'selected pairs', JSON.stringify(pairs));
    check(pairs.length === 2, `${name}: expected a publication and a subscription, got ${pairs.length} sessions`);
    for (const p of pairs) {
      check(p.selected && p.local === 'relay', `${name}: session ${p.session} is not relayed: ${JSON.stringify(p)}`);
      check(p.relayProtocol === 'tcp', `${name}: session ${p.session} reaches TURN over ${p.relayProtocol}, not TCP`);
    }
  }
});
