// libdatachannel through its npm binding node-datachannel (prebuilt inside the package): one
// reliable channel between two peer connections in one process on 127.0.0.1, MiB sent in 64 KiB
// messages with at most 4 MiB buffered; prints {"mb_per_second":…}.
// Usage: node node_datachannel.js NODE_MODULES MIB
const ndc = require(require('path').join(process.argv[2], 'node-datachannel'))
const total = Number(process.argv[3] || 100) * 1048576
const size = 65536
const a = new ndc.PeerConnection('a', { iceServers: [], bindAddress: '127.0.0.1' })
const b = new ndc.PeerConnection('b', { iceServers: [], bindAddress: '127.0.0.1' })
a.onLocalDescription((sdp, type) => b.setRemoteDescription(sdp, type))
a.onLocalCandidate((c, mid) => b.addRemoteCandidate(c, mid))
b.onLocalDescription((sdp, type) => a.setRemoteDescription(sdp, type))
b.onLocalCandidate((c, mid) => a.addRemoteCandidate(c, mid))
let got = 0, start
const keep = []
b.onDataChannel((dc) => {
  keep.push(dc)
  dc.onMessage((m) => { got += m.length; if (got >= total) { const s = (Date.now() - start) / 1000; console.log(JSON.stringify({ mb_per_second: total / 1e6 / s })); process.exit(0) } })
})
const dc = a.createDataChannel('bench')
dc.onOpen(() => {
  start = Date.now()
  const buf = Buffer.alloc(size, 7)
  let sent = 0
  const pump = () => {
    while (sent < total && dc.bufferedAmount() < 4 * 1048576) {
      if (!dc.sendMessageBinary(buf)) break
      sent += size
    }
    if (sent < total) setTimeout(pump, 1)
  }
  pump()
})
setTimeout(() => { console.error('timeout', got); process.exit(1) }, 60000)
