// Drives the npm signalhub client (4.9) against a hub: several clients subscribe, one
// broadcasts, every subscriber of the channel must receive the message once, the others not.
// HUB_URLS is one URL, or several separated by commas: client i then uses the (i mod n)th (hubs
// of one group, which share their broadcasts).
// Usage: node signalhub_client.js MODULES_DIR HUB_URLS
const path = require('path')
const signalhub = require(path.join(process.argv[2], 'signalhub'))
const urls = process.argv[3].split(',')

const results = { received: {}, errors: [] }
const hubs = [0, 1, 2].map((i) => signalhub('shoal-test', [urls[i % urls.length]]))
const subs = [
  hubs[0].subscribe('all'),
  hubs[1].subscribe(['all', 'peer-1']),
  hubs[2].subscribe('elsewhere')
]
subs.forEach((s, i) => {
  results.received[i] = []
  s.on('data', (m) => results.received[i].push(m))
  s.on('error', (e) => results.errors.push(String(e)))
})

let opened = 0
subs.forEach((s) => s.once('open', () => {
  if (++opened < subs.length) return
  hubs[0].broadcast('all', { type: 'connect', from: 'peer-0' }, (err) => {
    if (err) results.errors.push('broadcast: ' + err)
    hubs[0].broadcast('peer-1', { from: 'peer-0', signal: { type: 'offer', sdp: 'v=0\r\n' } },
      (err2) => {
        if (err2) results.errors.push('broadcast: ' + err2)
        setTimeout(done, 500)
      })
  })
}))

function done () {
  console.log(JSON.stringify(results))
  let pending = hubs.length
  hubs.forEach((h) => h.close(() => { if (--pending === 0) process.exit(0) }))
}

setTimeout(() => { results.errors.push('timeout'); done() }, 10000)
