'use strict'
// node ebt_reference.js SCENARIO.json MODULES: the scenario ebt_trace.c drives shoal's EBT core
// through (its header describes the format), driven instead through epidemic-broadcast-trees'
// reducer (events.js with v3.js: version 9.0.4, the one ssb-ebt 9.1.2 runs), printing the same
// JSON lines, one a step: {"step", "notes", "send", "clock", "error"}.
//
// What its index.js and stream.js would do around the reducer is done here, synchronously, with
// a fixed fake clock (each step's "t"):
// - our own feed is followed from the start (ssb-replication-scheduler's
//   ssb.ebt.request(ssb.id, true));
// - "have" appends our messages one by one (ssb-ebt's onAppend: events.append);
// - "connect" is events.connect, then events.peerClock with the kept clock (ssb-ebt's getClock:
//   {} when none);
// - "notes" and "receive" are events.notes and events.receive; a received message that is
//   stored is appended (index.js update: opts.append, then onMsgAdded: events.append);
// - what a peer's retrive list asks for is read from our store and given to events.retrive
//   until no more is asked (index.js update and _retrive);
// - after each step, what stream.js would write to each peer is taken: its msgs (sent) and its
//   notes (null once written);
// - "disconnect" is events.disconnect, its peer's clock what ssb-ebt's setClock would keep;
// - "tick" is events.timeout (index.js's setInterval).
const fs = require('fs')
const path = require('path')

const [file, modules] = process.argv.slice(2)
const dir = path.join(modules, 'epidemic-broadcast-trees')
const events = require(path.join(dir, 'events'))(require(path.join(dir, 'v3')))

const sc = JSON.parse(fs.readFileSync(file, 'utf8'))
const self = sc.self || 'S'

let state = events.initialize(self)
state.timeout = sc.stall || 3000 // index.js's default: ssb-ebt passes none
state.clock = {}
const store = {} // feed -> how far we hold it (messages 1..n)
const kept = {} // peer -> its clock from its last disconnect
let now = 0

function msg (feed, sequence) {
  return { author: feed, sequence, content: { type: 'trace' } }
}

function append (feed, sequence) {
  store[feed] = sequence
  state = events.append(state, msg(feed, sequence))
}

// index.js update(), the store's reads and writes done at once
function update (stored) {
  for (let again = true; again;) {
    again = false
    for (const id in state.peers) {
      const peer = state.peers[id]
      while (peer.retrive.length) {
        const feed = peer.retrive.shift()
        const rep = peer.replicating[feed]
        if (!rep) continue
        const sequence = rep.sent + 1
        if (sequence >= 1 && sequence <= (store[feed] || 0)) {
          state = events.retrive(state, msg(feed, sequence))
          again = true
        }
      }
    }
    while (state.receive.length) {
      const m = state.receive.shift().value
      if (stored && m.sequence === (store[m.author] || 0) + 1) append(m.author, m.sequence)
    }
  }
}

state = events.follow(state, { id: self, value: true, ts: now })

sc.steps.forEach(function (step, i) {
  if (Number.isInteger(step.t)) now = step.t
  const line = { step: i }
  const clocks = {}
  try {
    switch (step.ev) {
      case 'have':
        for (let s = (store[step.feed] || 0) + 1; s <= step.seq; s++) append(step.feed, s)
        break
      case 'follow':
        state = events.follow(state, { id: step.feed, value: step.follow !== false, ts: now })
        break
      case 'connect': {
        const clock = step.clock === 'kept' ? kept[step.peer] || {} : step.clock || {}
        const value = JSON.parse(JSON.stringify(clock)) // the reducer writes into it
        state = events.connect(state, { id: step.peer, client: !!step.client, ts: now })
        state = events.peerClock(state, { id: step.peer, value, ts: now })
        break
      }
      case 'notes':
        state = events.notes(state, { id: step.peer, value: step.notes, ts: now })
        break
      case 'receive':
        state = events.receive(state, { id: step.peer, value: msg(step.feed, step.seq), ts: now })
        break
      case 'disconnect': {
        const peer = state.peers[step.peer]
        if (!peer) break
        state = events.disconnect(state, { id: step.peer, ts: now })
        kept[step.peer] = JSON.parse(JSON.stringify(peer.clock || {}))
        clocks[step.peer] = kept[step.peer]
        break
      }
      case 'tick':
        state = events.timeout(state, { ts: now })
        break
      default:
        throw new Error('unknown ev ' + step.ev)
    }
    update(step.ev !== 'receive' || step.stored !== false)
  } catch (err) {
    line.error = err.message
  }
  // what stream.js would write to each peer now
  for (const id in state.peers) {
    const peer = state.peers[id]
    if (peer.notes) {
      line.notes = line.notes || {}
      line.notes[id] = peer.notes
      peer.notes = null
    }
    if (peer.msgs.length) {
      line.send = line.send || {}
      line.send[id] = peer.msgs.map((m) => [m.author, m.sequence, m.sequence])
      peer.msgs = []
    }
  }
  if (Object.keys(clocks).length) line.clock = clocks
  console.log(JSON.stringify(line))
})
