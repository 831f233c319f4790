// Stock webrtc-swarm 2.9 (simple-peer 9, @roamhq/wrtc as its WebRTC) meets through a hub: N
// swarm peers join one app, every pair opens a data channel and each peer sends "hello from i"
// to every other. Prints, as one JSON line, what each peer received; exits 1 on a timeout.
// Usage: node webrtc_swarm.js MODULES_DIR HUB_URL N
const path = require('path')
const need = (name) => require(path.join(process.argv[2], name))
const signalhub = need('signalhub')
const swarm = need('webrtc-swarm')
const wrtc = need('@roamhq/wrtc')
const url = process.argv[3]
const n = Number(process.argv[4])

const received = []
const swarms = []
for (let i = 0; i < n; i++) {
  received.push(new Set())
  const sw = swarm(signalhub('shoal-swarm-test', [url]), { wrtc, uuid: `peer-${i}` })
  sw.on('peer', (peer) => {
    peer.on('data', (d) => { received[i].add(String(d)); finish() })
    peer.send(`hello from ${i}`)
  })
  swarms.push(sw)
}

const report = () => JSON.stringify(received.map((s) => [...s].sort()))

function finish () {
  if (received.some((s) => s.size < n - 1)) return
  console.log(report())
  process.exit(0)
}

setTimeout(() => { console.error(`timed out; received so far: ${report()}`); process.exit(1) }, 45000)
