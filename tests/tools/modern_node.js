#!/usr/bin/env node
// modern_node.js: a "modern" SSB node as Manyverse builds it, for shoal's interop tests.
// secret-stack 6 with the main network's caps, ssb-db2 (+ its compat plugins), ssb-ebt,
// ssb-friends and ssb-replication-scheduler, in Manyverse's order; it replicates what it follows
// over EBT, as Manyverse does. The packages come from scripts/fetch-test-data
// (.deps/ssb-modern/node_modules).
//
//   node modern_node.js MODULES --dir DIR --port PORT [--follow FEED]... [--publish N]
//                       [--dial ADDRESS]... [--want FEED[:SEQ]]... [--trace]
//
// --follow FEED   publish {type:'contact', contact: FEED, following: true}: the scheduler then
//                 asks ssb-ebt for FEED
// --publish N     publish N posts {type:'post', text:'modern I'} once ready
// --dial ADDRESS  once ready, the --publish posts written and every feed followed (this run or
//                 before) requested by the scheduler, connect to a multiserver address, again
//                 every 1 s until connected
// --want FEED:SEQ report the sequence held of FEED; SEQ (optional) is the one wanted
// --trace         ssb-ebt's log of notes and messages sent and received, the argument of each
//                 ebt.replicate call and the peer's manifest entry for ebt, on stderr
//
// stdout has one JSON line per event:
//   {"event":"ready","id","address"}        listening
//   {"event":"published","seq"}             a batch published (its last sequence)
//   {"event":"requested","feed"}            the scheduler asked ssb-ebt for a feed
//   {"event":"connected","peer","client"}   {"event":"disconnected","peer"}
//   {"event":"has","feed","seq"}            the sequence held of a --want feed grew (100 ms poll)
//   {"event":"wanted"}                      once every --want with a SEQ is held
//   {"event":"closed"}
// stdin takes the commands `publish K`, `dial ADDRESS`, `follow FEED`, `want FEED[:SEQ]` and
// `quit`. Exits 0 on `quit`, SIGTERM or SIGINT once ssb is closed.
'use strict'
const path = require('path')
const readline = require('readline')

const modules = process.argv[2]
if (!modules || modules.startsWith('--')) usage()
const need = (name) => require(path.resolve(modules, name))
const opts = { dir: null, port: 0, follow: [], publish: 0, dial: [], want: [], trace: false }
for (let i = 3; i < process.argv.length; i++) {
  const flag = process.argv[i]
  const key = flag.slice(2)
  if (flag === '--trace') opts.trace = true
  else if (!flag.startsWith('--') || !(key in opts) || i + 1 >= process.argv.length) usage()
  else if (Array.isArray(opts[key])) opts[key].push(process.argv[++i])
  else opts[key] = key === 'dir' ? process.argv[++i] : Number(process.argv[++i])
}
if (!opts.dir || !(opts.port > 0)) usage()

function usage () {
  console.error('usage: modern_node.js MODULES --dir DIR --port PORT [--follow FEED]... ' +
    '[--publish N] [--dial ADDRESS]... [--want FEED[:SEQ]]... [--trace]')
  process.exit(2)
}

// stdout is the event stream: whatever the libraries print goes to stderr.
console.log = console.error
const say = (ev) => process.stdout.write(JSON.stringify(ev) + '\n')

const caps = need('ssb-caps')
const keys = need('ssb-keys').loadOrCreateSync(path.join(opts.dir, 'secret'))
const incoming = { scope: ['device', 'local', 'public'], host: '127.0.0.1', port: opts.port }
const ssb = need('secret-stack')({ caps })
  .use(need('ssb-db2'))
  .use(need('ssb-db2/compat'))
  .use(need('ssb-ebt'))
  .use(need('ssb-friends'))
  .use(need('ssb-replication-scheduler'))({
    path: opts.dir,
    keys,
    caps,
    host: '127.0.0.1',
    port: opts.port,
    connections: {
      incoming: { net: [{ ...incoming, transform: 'shs' }] },
      outgoing: { net: [{ transform: 'shs' }] },
    },
    timers: { handshake: 15e3, inactivity: 600e3 }, // ssb-config's (secret-stack's own are 5 s)
    friends: { hops: 2 }, // 1 would do: a followed feed is at hops 1
    replicationScheduler: { partialReplication: null, autostart: true },
    ebt: { logging: opts.trace },
  })

if (opts.trace) {
  // Ahead of ssb-ebt's own listener, so its client-side call is seen with its argument.
  ssb.prependListener('rpc:connect', (rpc, isClient) => {
    if (rpc.id === ssb.id) return
    const replicate = rpc.ebt.replicate
    rpc.ebt.replicate = function (arg, cb) {
      console.error('TRACE ebt.replicate called on ' + rpc.id + ' with ' + JSON.stringify(arg))
      return replicate.apply(this, arguments)
    }
    rpc.manifest((err, manifest) => {
      console.error('TRACE manifest of ' + rpc.id + ': ebt = ' +
        (err ? 'error ' + err.message : JSON.stringify(manifest.ebt)))
    })
  })
  const serve = ssb.ebt.replicate
  ssb.ebt.replicate = function (arg) {
    console.error('TRACE ebt.replicate asked by ' + this.id + ' with ' + JSON.stringify(arg))
    return serve.apply(this, arguments)
  }
}

// The scheduler asks ssb-ebt for each feed ssb-friends puts within hops (debounced 150 ms):
// seen here, so --dial can wait for it and the first notes already name the followed feeds.
const requested = new Set()
const request = ssb.ebt.request
ssb.ebt.request = function (feed, wanted) {
  if (wanted && feed !== ssb.id && !requested.has(feed)) {
    requested.add(feed)
    say({ event: 'requested', feed })
  }
  return request.apply(this, arguments)
}

ssb.on('rpc:connect', (rpc, isClient) => {
  if (rpc.id === ssb.id) return
  say({ event: 'connected', peer: rpc.id, client: isClient })
  rpc.once('closed', () => say({ event: 'disconnected', peer: rpc.id }))
})

let closing = false
let posts = 0
let queue = Promise.resolve() // publishes run one after another
function publish (content) {
  return new Promise((resolve, reject) =>
    ssb.db.publish(content, (err, kvt) => (err ? reject(err) : resolve(kvt))))
}
function enqueue (contents) {
  queue = queue.then(async () => {
    let kvt = null
    for (const content of contents) kvt = await publish(content)
    if (kvt) say({ event: 'published', seq: kvt.value.sequence })
  }).catch((err) => console.error('publish failed:', err))
}
const publishPosts = (n) =>
  enqueue(Array.from({ length: n }, () => ({ type: 'post', text: 'modern ' + ++posts })))
const follow = (feed) => enqueue([{ type: 'contact', contact: feed, following: true }])

function dial (address) {
  ssb.connect(address, (err) => {
    if (err && !closing) {
      if (opts.trace) console.error('dial ' + address + ' failed: ' + err.message)
      setTimeout(dial, 1000, address)
    }
  })
}

const wants = new Map() // feed -> { seq wanted or null, seq held }
let wantedSaid = false
function want (spec) {
  const at = spec.lastIndexOf(':')
  const feed = at > 0 ? spec.slice(0, at) : spec
  wants.set(feed, { target: at > 0 ? Number(spec.slice(at + 1)) : null, held: 0 })
  wantedSaid = false
}
opts.want.forEach(want)
let polling = false
const poll = setInterval(() => {
  if (polling || closing || wants.size === 0) return
  polling = true
  ssb.getVectorClock((err, clock) => {
    polling = false
    if (err || closing) return
    let all = true
    for (const [feed, w] of wants) {
      const seq = clock[feed] || 0
      if (seq > w.held) say({ event: 'has', feed, seq: (w.held = seq) })
      if (w.target !== null && w.held < w.target) all = false
    }
    const targets = [...wants.values()].some((w) => w.target !== null)
    if (all && targets && !wantedSaid) {
      wantedSaid = true
      say({ event: 'wanted' })
    }
  })
}, 100)

ssb.once('multiserver:listening', () => {
  say({ event: 'ready', id: ssb.id, address: ssb.getAddress('device') })
  opts.follow.forEach(follow)
  if (opts.publish > 0) publishPosts(opts.publish)
  queue.then(function dialWhenRequested () {
    ssb.friends.hops((err, hops) => { // once the contacts index has every follow
      const due = Object.keys(hops || {}).filter((feed) => feed !== ssb.id && hops[feed] >= 0)
      if (!err && due.concat(opts.follow).every((feed) => requested.has(feed))) {
        opts.dial.forEach(dial)
      } else setTimeout(dialWhenRequested, 50)
    })
  })
})

// Closing ends the connections; ssb-ebt then saves each peer's clock (DIR/ebt/), so the process
// is left to end by itself once that is written, or 2 s after ssb has closed at the latest.
function quit () {
  if (closing) return
  closing = true
  clearInterval(poll)
  commands.close()
  process.stdin.destroy()
  setTimeout(() => {
    console.error('ssb.close did not call back within 10 s')
    process.exit(1)
  }, 10e3).unref()
  ssb.close(true, () => {
    say({ event: 'closed' })
    setTimeout(() => process.exit(0), 2000).unref()
  })
}
process.on('SIGTERM', quit)
process.on('SIGINT', quit)

const commands = readline.createInterface({ input: process.stdin })
commands.on('line', (line) => {
  const [cmd, arg] = line.trim().split(/\s+/)
  if (cmd === 'publish' && Number(arg) > 0) publishPosts(Number(arg))
  else if (cmd === 'dial' && arg) dial(arg)
  else if (cmd === 'follow' && arg) follow(arg)
  else if (cmd === 'want' && arg) want(arg)
  else if (cmd === 'quit') quit()
  else if (cmd) console.error('unknown command: ' + line)
})
