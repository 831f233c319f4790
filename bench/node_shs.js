// The reference's figures for bench_shs, measured the same way: secret-handshake 1.1
// (client and server in one process, one handshake at a time, through pull-streams) and
// pull-box-stream 1.0 (boxing and unboxing 4096-byte chunks). Both run on chloride, which binds
// libsodium natively (sodium-native). Prints one JSON line.
// Usage: node node_shs.js NODE_MODULES HANDSHAKES MEGABYTES
const path = require('path')
const need = (name) => require(path.join(process.argv[2], name))
const shs = need('secret-handshake')
const boxes = need('pull-box-stream')
const pull = need('pull-stream')
const cl = need('chloride')

const handshakes = Number(process.argv[3])
const megabytes = Number(process.argv[4])
const random = (n) => { const b = Buffer.alloc(n); cl.randombytes(b); return b }
const appKey = random(32)
const alice = cl.crypto_sign_keypair()
const bob = cl.crypto_sign_keypair()
const createServer = shs.createServer(bob, (id, cb) => cb(null, true), appKey)
const createClient = shs.createClient(alice, appKey)

function oneHandshake (cb) {
  let left = 2
  const done = (err) => { if (err) throw err; if (--left === 0) cb() }
  const server = createServer(done)
  const client = createClient(bob.publicKey, done)
  pull(client, server, client)
}

function runHandshakes (n, cb) {
  const start = process.hrtime.bigint()
  let i = 0
  const next = () => {
    if (i++ === n) return cb(Number(process.hrtime.bigint() - start) / 1e9)
    oneHandshake(() => setImmediate(next)) // a fresh stack for each
  }
  next()
}

function runBoxes (bytes, cb) {
  const key = random(32)
  const nonce = random(24)
  const chunk = Buffer.alloc(4096, 7)
  const n = Math.ceil(bytes / 4096)
  const boxed = []
  let start = process.hrtime.bigint()
  pull(
    pull.count(n - 1),
    pull.map(() => chunk),
    boxes.createBoxStream(key, nonce),
    pull.collect((err, frames) => {
      if (err) throw err
      const boxSeconds = Number(process.hrtime.bigint() - start) / 1e9
      boxed.push(...frames)
      start = process.hrtime.bigint()
      let got = 0
      pull(
        pull.values(boxed),
        boxes.createUnboxStream(key, nonce),
        pull.drain((c) => { got += c.length }, (err) => {
          if (err) throw err
          cb(boxSeconds, Number(process.hrtime.bigint() - start) / 1e9, got)
        })
      )
    })
  )
}

runHandshakes(handshakes, (hsSeconds) => {
  runBoxes(megabytes * 1048576, (boxSeconds, unboxSeconds, bytes) => {
    console.log(JSON.stringify({
      handshakes_per_second: handshakes / hsSeconds,
      box_mb_per_second: bytes / 1e6 / boxSeconds,
      unbox_mb_per_second: bytes / 1e6 / unboxSeconds
    }))
  })
})
