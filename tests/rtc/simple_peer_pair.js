// Stock simple-peer 9 (with @roamhq/wrtc as its WebRTC) against a shoal peer (tests/tools/
// rtc-echo), signals passed as JSON lines through the child's standard input and output.
// `shoal-initiates` or `simple-peer-initiates` decides who offers. The simple-peer side sends
// messages and expects them echoed (or, when shoal initiates, expects shoal's "hello" and echoes
// it); prints one JSON line with what happened, exit 1 on a timeout.
// Usage: node simple_peer_pair.js MODULES RTC_ECHO shoal-initiates|simple-peer-initiates
const path = require('path')
const { spawn } = require('child_process')
const readline = require('readline')
const need = (name) => require(path.join(process.argv[2], name))
const Peer = need('simple-peer')
const wrtc = need('@roamhq/wrtc')

const shoalInitiates = process.argv[4] === 'shoal-initiates'
const args = ['--address', '127.0.0.1'].concat(shoalInitiates ? ['--initiator'] : [])
const child = spawn(process.argv[3], args, { stdio: ['pipe', 'pipe', 'inherit'] })
const peer = new Peer({ initiator: !shoalInitiates, wrtc, trickle: true })
const result = { events: [], received: [], errors: [] }
const started = Date.now()

peer.on('signal', (s) => child.stdin.write(JSON.stringify(s) + '\n'))
readline.createInterface({ input: child.stdout }).on('line', (line) => {
  const m = JSON.parse(line)
  if (m.event) {
    result.events.push(m.event)
    if (m.event === 'closed') finish()
    return
  }
  peer.signal(m)
})
peer.on('connect', () => {
  result.open_ms = Date.now() - started
  if (!shoalInitiates) {
    peer.send('hello shoal')
    peer.send(Buffer.from([0, 1, 2, 3]))
  }
})
peer.on('data', (d) => {
  result.received.push(d.toString())
  if (shoalInitiates) peer.send(d) // echo shoal's hello
  const want = shoalInitiates ? 1 : 2
  if (result.received.length === want) {
    // shoal echoes, then closes on end of input; simple-peer sees the channel close
    setTimeout(() => child.stdin.end(), shoalInitiates ? 200 : 0)
  }
})
peer.on('error', (e) => result.errors.push(String(e)))
peer.on('close', () => result.events.push('simple-peer-closed'))

function finish () {
  setTimeout(() => {
    console.log(JSON.stringify(result))
    process.exit(0)
  }, 300)
}
setTimeout(() => { console.error('timed out: ' + JSON.stringify(result)); process.exit(1) }, 20000)
