// The references' figures for bench_repl: an initial sync between two SSB peers, each in its own
// process, over net: on 127.0.0.1:
// - two ssb-server 16 peers (ssb-db 20, with ssb-replicate, ssb-friends and ssb-ebt 5.6 as
//   ssb-server's own command line loads them; .deps/node), replicating with EBT as they do;
// - with --modern, two peers as Manyverse builds them (secret-stack 6, ssb-db2 6 with its compat
//   plugins, ssb-ebt 9; .deps/ssb-modern).
// Peer A is loaded with the messages (one JSON value per line, the same messages shoal syncs)
// before the clock starts; peer B replicates every feed in them, and the clock runs from B's dial
// to its last message stored. Both peers replicate the feeds (EBT sends only feeds a peer
// replicates itself). Prints one JSON line: {"messages":N,"seconds":S,"load_seconds":L}.
// Usage: node ssb_repl.js MODULES MESSAGES_FILE [--modern] [--serve]   (--serve: peer A alone;
// it prints its address). createPeer is also what bench/ssb_modern_skip.js runs.
const path = require('path')
const fs = require('fs')
const os = require('os')
const childProcess = require('child_process')

// A peer listening on 127.0.0.1:port (0: none), replicating `feeds`.
function createPeer (modules, port, feeds, modern) {
  const need = (name) => require(path.resolve(modules, name))
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-bench-'))
  const caps = need('ssb-caps')
  const config = {
    path: dir,
    keys: need('ssb-keys').loadOrCreateSync(path.join(dir, 'secret')),
    timers: { inactivity: -1, handshake: 30000 },
    connections: {
      incoming: { net: [{ host: '127.0.0.1', port, scope: 'device', transform: 'shs' }] },
      outgoing: { net: [{ transform: 'shs' }] }
    }
  }
  if (modern) {
    const peer = need('secret-stack')({ caps })
      .use(need('ssb-db2'))
      .use(need('ssb-db2/compat'))
      .use(need('ssb-ebt'))({ ...config, caps, host: '127.0.0.1', port })
    for (const id of feeds) peer.ebt.request(id, true)
    return peer
  }
  const peer = need('secret-stack')({ caps: { shs: Buffer.from(caps.shs, 'base64') } })
    .use(need('ssb-db'))
    .use(need('ssb-replicate'))
    .use(need('ssb-friends'))
    .use(need('ssb-ebt'))({ ...config, caps: { shs: caps.shs, sign: null } })
  for (const id of feeds) peer.replicate.request(id, true)
  return peer
}

// Stores `values` in `peer`, then calls done(): one feed's run at a time in batches for ssb-db2
// (one add at a time would wait out its 250 ms batching each), one by one for ssb-db.
function load (peer, values, modern, done) {
  const runs = []
  for (const v of values) {
    const last = runs[runs.length - 1]
    if (modern && last && last[0].author === v.author && last.length < 1000) last.push(v)
    else runs.push([v])
  }
  let i = 0
  const next = (err) => {
    if (err) throw err
    if (i === runs.length) return done()
    const run = runs[i++]
    if (modern) peer.db.addBatch(run, next)
    else peer.add(run[0], next)
  }
  next()
}

function main () {
  const modules = process.argv[2]
  const file = process.argv[3]
  const modern = process.argv.includes('--modern')
  const values = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
  const feeds = [...new Set(values.map((v) => v.author))]
  console.log = console.error // stdout is the result alone
  if (process.argv.includes('--serve')) {
    const port = 20000 + Math.floor(Math.random() * 20000)
    const a = createPeer(modules, port, feeds, modern)
    const started = Date.now()
    load(a, values, modern, () => process.stdout.write(JSON.stringify({
      address: a.getAddress('device'), load_seconds: (Date.now() - started) / 1000
    }) + '\n'))
    return
  }
  const child = childProcess.spawn(process.execPath, [__filename, ...process.argv.slice(2), '--serve'],
    { stdio: ['ignore', 'pipe', 'inherit'] })
  let line = ''
  child.stdout.on('data', (chunk) => {
    line += chunk
    if (!line.includes('\n')) return
    const { address, load_seconds: loadSeconds } = JSON.parse(line)
    const b = createPeer(modules, 0, feeds, modern)
    let stored = 0
    let t0 = 0
    const onStored = () => {
      if (++stored < values.length) return
      const seconds = (Date.now() - t0) / 1000
      process.stdout.write(JSON.stringify({ messages: stored, seconds, load_seconds: loadSeconds }) + '\n')
      child.kill()
      b.close(true, () => process.exit(0))
    }
    if (modern) b.db.onMsgAdded(onStored)
    else b.post(onStored)
    t0 = Date.now()
    b.connect(address, (err) => { if (err) throw err })
  })
  child.on('exit', (code) => { if (code) process.exit(code) })
}

module.exports = { createPeer }
if (require.main === module) main()
