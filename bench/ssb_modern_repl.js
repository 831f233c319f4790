// The modern reference's figure for bench_repl: an initial sync between two SSB peers as
// Manyverse builds them (secret-stack 6, ssb-db2 6 with its compat plugins, ssb-ebt 9; from
// .deps/ssb-modern, see scripts/fetch-test-data), each in its own process, over net: on
// 127.0.0.1. Peer A is loaded with the messages (one JSON value per line, the same messages shoal
// syncs) before the clock starts; peer B asks ssb-ebt for every feed in them (as
// ssb-replication-scheduler would for feeds it follows), and the clock runs from B's dial to its
// last message stored. Both replicate the feeds (EBT sends only feeds a peer replicates itself).
// Prints one JSON line: {"messages":N,"seconds":S,"load_seconds":L}.
// Usage: node ssb_modern_repl.js MODULES MESSAGES_FILE
//        node ssb_modern_repl.js MODULES MESSAGES_FILE --serve   (peer A; prints its address)
const path = require('path')
const fs = require('fs')
const os = require('os')
const childProcess = require('child_process')
const need = (name) => require(path.join(process.argv[2], name))

const file = process.argv[3]
const serving = process.argv[4] === '--serve'
const values = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(JSON.parse)
const feeds = [...new Set(values.map((v) => v.author))]
console.log = console.error // stdout is the result alone

function createPeer (port) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssb-modern-bench-'))
  const caps = need('ssb-caps')
  const peer = need('secret-stack')({ caps })
    .use(need('ssb-db2'))
    .use(need('ssb-db2/compat'))
    .use(need('ssb-ebt'))({
      path: dir,
      keys: need('ssb-keys').loadOrCreateSync(path.join(dir, 'secret')),
      caps,
      host: '127.0.0.1',
      port,
      timers: { handshake: 30e3, inactivity: -1 },
      connections: {
        incoming: { net: [{ host: '127.0.0.1', port, scope: 'device', transform: 'shs' }] },
        outgoing: { net: [{ transform: 'shs' }] }
      }
    })
  for (const id of feeds) peer.ebt.request(id, true)
  return peer
}

function serve () {
  const port = 20000 + Math.floor(Math.random() * 20000)
  const a = createPeer(port)
  const started = Date.now()
  // one feed's run at a time, in batches (one add at a time waits out db2's 250 ms batching)
  const runs = []
  for (const v of values) {
    const last = runs[runs.length - 1]
    if (last && last[0].author === v.author && last.length < 1000) last.push(v)
    else runs.push([v])
  }
  let i = 0
  const next = (err) => {
    if (err) throw err
    if (i === runs.length) {
      process.stdout.write(JSON.stringify({
        address: a.getAddress('device'), load_seconds: (Date.now() - started) / 1000
      }) + '\n')
      return
    }
    a.db.addBatch(runs[i++], next)
  }
  next()
}

function fetch () {
  const child = childProcess.spawn(process.execPath, [__filename, ...process.argv.slice(2), '--serve'],
    { stdio: ['ignore', 'pipe', 'inherit'] })
  let line = ''
  child.stdout.on('data', (chunk) => {
    line += chunk
    if (!line.includes('\n')) return
    const { address, load_seconds: loadSeconds } = JSON.parse(line)
    const b = createPeer(0)
    let stored = 0
    let t0 = 0
    b.db.onMsgAdded(() => {
      if (++stored < values.length) return
      const seconds = (Date.now() - t0) / 1000
      process.stdout.write(JSON.stringify({ messages: stored, seconds, load_seconds: loadSeconds }) + '\n')
      child.kill()
      b.close(true, () => process.exit(0))
    })
    t0 = Date.now()
    b.connect(address, (err) => { if (err) throw err })
  })
  child.on('exit', (code) => { if (code) process.exit(code) })
}

if (serving) serve(); else fetch()
