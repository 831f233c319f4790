// Publishes a chain of messages with the reference's own code — ssb-validate 4's create (which
// signs with ssb-keys) — from a fixed seed, with contents that test canonical JSON: unicode,
// escapes, numbers, integer-like keys, nesting, an encrypted string, and one signed with an
// HMAC key. Prints one JSON line per message: its content as JSON text, timestamp, HMAC key,
// canonical text (JSON.stringify(msg, null, 2)) and id.
// Usage: node ssb_keys_messages.js MODULES
const path = require('path')
const need = (name) => require(path.join(process.argv[2], name))
const ssbKeys = need('ssb-keys')
const validate = need('ssb-validate')

const keys = ssbKeys.generate('ed25519', Buffer.alloc(32, 7))
const hmacKey = Buffer.alloc(32, 9).toString('base64')
const contents = [
  { type: 'post', text: 'hello' },
  { type: 'post', text: 'é ü 😀 \u2028 \u00a0 日本語' },
  { type: 'post', text: '" \\ \n \r \t \b \f \u0001 \u001f / \u007f' },
  { type: 'numbers', a: 1e21, b: 0.1, c: -0, d: 1.5e-7, e: 123456789.123, f: 2 ** 53 + 2, g: 1e-7, h: 5e-324 },
  { type: 'keys', 2: 'two', 1: 'one', b: 'b', 10: 'ten', '01': 'not an index', a: 'a' },
  { type: 'nested', list: [1, [2, [3, {}]], [], { x: null, y: true, z: false }] },
  'YWJjZGVmZ2hpams=.box',
  { type: 'contact', contact: '@' + Buffer.alloc(32, 1).toString('base64') + '.ed25519', following: true }
]
let state = null
contents.forEach((content, i) => {
  const useHmac = i === contents.length - 1
  const timestamp = 1700000000000 + i * 1000.5
  const msg = validate.create(state, keys, useHmac ? hmacKey : null, content, timestamp)
  const id = validate.id(msg)
  state = { id, sequence: msg.sequence, timestamp: msg.timestamp, queue: [] }
  console.log(JSON.stringify({
    content: JSON.stringify(content),
    timestamp,
    hmac: useHmac ? hmacKey : null,
    text: JSON.stringify(msg, null, 2),
    id
  }))
})
