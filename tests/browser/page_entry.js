// The browser side of the Chromium interop test: stock webrtc-swarm (simple-peer inside, on the
// browser's own RTCPeerConnection) and the signalhub client, bundled by browserify at test time.
// window.joinShoal(hubUrl) joins shoal's app; each peer met is sent "hello from chromium", and
// what comes back is gathered in window.result, and every signal the hub carried to this page
// (as any subscriber to its channel could read it) in window.result.signals.
const signalhub = require('signalhub')
const swarm = require('webrtc-swarm')

window.joinShoal = function (hubUrl) {
  const result = { received: [], errors: [], signals: [] }
  window.result = result
  // no ICE servers: the test never leaves its network namespace (and simple-peer 9's default,
  // a twilio STUN URL with ?transport=udp, is refused by today's Chromium)
  const sw = swarm(signalhub('shoal-swarm-2', [hubUrl]), { config: { iceServers: [] } })
  signalhub('shoal-swarm-2', [hubUrl]).subscribe(sw.me)
    .on('data', (d) => result.signals.push(JSON.stringify(d)))
  sw.on('peer', (peer) => {
    peer.on('data', (d) => result.received.push(String(d)))
    peer.on('error', (e) => result.errors.push(String(e)))
    peer.send('hello from chromium')
  })
}
