// A stock webrtc-swarm 2.9 peer (simple-peer 9 on @roamhq/wrtc) joins shoal's hub app and meets
// a shoal peer in compatibility mode: it sends "hello from swarm" and expects "hello from shoal"
// and "echo: hello from swarm" back. Prints one JSON line; exit 1 on a timeout.
// Usage: node webrtc_swarm_meets_shoal.js MODULES HUB_URL
const path = require('path')
const need = (name) => require(path.join(process.argv[2], name))
const signalhub = need('signalhub')
const swarm = need('webrtc-swarm')
const wrtc = need('@roamhq/wrtc')

const sw = swarm(signalhub('shoal-swarm-2', [process.argv[3]]), { wrtc })
const received = []
sw.on('peer', (peer) => {
  peer.on('data', (d) => {
    received.push(String(d))
    if (received.includes('hello from shoal') && received.includes('echo: hello from swarm')) {
      console.log(JSON.stringify({ received: received.sort() }))
      process.exit(0)
    }
  })
  peer.send('hello from swarm')
})
setTimeout(() => { console.error('timed out: ' + JSON.stringify(received)); process.exit(1) }, 30000)
