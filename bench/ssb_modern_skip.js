// The modern reference's figure for bench_ebt_skip.py: two SSB peers as Manyverse builds them
// (secret-stack 6, ssb-db2 6 with its compat plugins, ssb-ebt 9; .deps/ssb-modern), in this
// process, both holding the same FEEDS feeds of one message each and replicating all of them, meet
// twice over net: through a counting TCP relay on 127.0.0.1: the first time they have never met,
// the second time each kept the other's clock (ssb-ebt saves it when a session ends). For each
// meeting: the bytes through the relay (both ways) and the time from the dial to the last byte
// before 3 s of quiet ("in sync"). Prints one JSON line: {"first":{bytes,ms},"again":{bytes,ms}}.
// Usage: node ssb_modern_skip.js MODULES FEEDS
const net = require('net')
const crypto = require('crypto')
const FEEDS = Number(process.argv[3] || 5000)
console.log = console.error // stdout is the result alone

// FEEDS feeds of one post each, the same for both peers
const messages = []
for (let f = 0; f < FEEDS; f++) {
  const seed = crypto.createHash('sha256').update('bench-skip-' + f).digest()
  const priv = crypto.createPrivateKey({
    key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]),
    format: 'der',
    type: 'pkcs8'
  })
  const pub = crypto.createPublicKey(priv).export({ format: 'der', type: 'spki' }).slice(-32)
  const msg = {
    previous: null,
    author: '@' + pub.toString('base64') + '.ed25519',
    sequence: 1,
    timestamp: 1700000000000 + f,
    hash: 'sha256',
    content: { type: 'post', text: 'feed ' + f }
  }
  msg.signature = crypto.sign(null, Buffer.from(JSON.stringify(msg, null, 2)), priv)
    .toString('base64') + '.sig.ed25519'
  messages.push(msg)
}

const authors = messages.map((m) => m.author)
const createPeer = (port) => require('./ssb_repl.js').createPeer(process.argv[2], port, authors, true)

// each feed its own batch (addBatch takes one feed's run), all at once
const load = (peer) => Promise.all(messages.map((m) => new Promise((resolve, reject) =>
  peer.db.addBatch([m], (err) => (err ? reject(err) : resolve())))))

// A relay to `port` counting what crosses it, and when it last did.
function relay (port) {
  const r = { bytes: 0, last: 0 }
  r.server = net.createServer((a) => {
    const b = net.connect(port, '127.0.0.1')
    const count = (chunk) => { r.bytes += chunk.length; r.last = Date.now() }
    a.on('data', count)
    b.on('data', count)
    a.pipe(b)
    b.pipe(a)
    a.on('error', () => b.destroy())
    b.on('error', () => a.destroy())
  })
  return new Promise((resolve) => r.server.listen(0, '127.0.0.1', () => resolve(r)))
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

async function meet (b, address, r) {
  r.bytes = 0
  const t0 = Date.now()
  r.last = t0
  const rpc = await new Promise((resolve, reject) =>
    b.connect(address, (err, rpc) => (err ? reject(err) : resolve(rpc))))
  while (Date.now() - r.last < 3000) await sleep(100)
  const figure = { bytes: r.bytes, ms: r.last - t0 }
  await new Promise((resolve) => rpc.close(true, resolve))
  await sleep(1000) // the sessions' ends: each side saves the other's clock
  return figure
}

async function main () {
  const portA = 20000 + Math.floor(Math.random() * 20000)
  const a = createPeer(portA)
  const b = createPeer(0)
  await load(a)
  await load(b)
  await sleep(1000) // db2's indexes settle
  const r = await relay(portA)
  const address = a.getAddress('device').replace(':' + portA + '~', ':' + r.server.address().port + '~')
  const first = await meet(b, address, r)
  const again = await meet(b, address, r)
  process.stdout.write(JSON.stringify({ first, again }) + '\n')
  r.server.close()
  a.close(true, () => b.close(true, () => process.exit(0)))
}

main().catch((err) => { console.error(err); process.exit(1) })
