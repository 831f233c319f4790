// Drives Debian's Chromium (headless, through playwright-core) to a page that joins shoal's hub
// app with stock webrtc-swarm, and waits until the shoal peer's "hello from shoal" and its echo
// of "hello from chromium" have arrived over the data channel. Prints one JSON line.
// Usage: node chromium_meets_shoal.js MODULES PAGE_URL HUB_URL [mdns | slow-offer]
// With mdns, Chromium keeps its default: local addresses hidden behind <uuid>.local names.
// With slow-offer, each RTCPeerConnection's createOffer waits 8 s first, as on a starved
// machine: a peer the page dials meanwhile may offer first (and be answered by the dialling peer).
const path = require('path')
const fs = require('fs')
const os = require('os')
const { chromium } = require(path.join(process.argv[2], 'playwright-core'))

async function main () {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-chromium-'))
  // a fresh profile each run (playwright passes it as --user-data-dir)
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'].concat(
      process.argv[5] === 'mdns' ? [] : ['--disable-features=WebRtcHideLocalIpsWithMdns'])
  })
  const page = await browser.newPage()
  const logs = []
  page.on('console', (m) => logs.push(m.text()))
  page.on('pageerror', (e) => logs.push('page error: ' + e.message))
  if (process.env.SHOAL_BROWSER_DEBUG) await page.addInitScript(() => { localStorage.debug = '*' })
  if (process.argv[5] === 'slow-offer') {
    await page.addInitScript(() => {
      const createOffer = RTCPeerConnection.prototype.createOffer
      RTCPeerConnection.prototype.createOffer = function (...args) {
        return new Promise((resolve) => setTimeout(resolve, 8000))
          .then(() => createOffer.apply(this, args))
      }
    })
  }
  await page.goto(process.argv[3])
  await page.evaluate((hub) => window.joinShoal(hub), process.argv[4])
  const deadline = Date.now() + 40000
  let result
  while (Date.now() < deadline) {
    result = await page.evaluate(() => window.result)
    if (result.received.includes('hello from shoal') &&
        result.received.includes('echo: hello from chromium')) break
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await browser.close()
  fs.rmSync(profile, { recursive: true, force: true })
  // the last of the page's log (with SHOAL_BROWSER_DEBUG, simple-peer's debug lines too)
  console.log(JSON.stringify({ received: result.received.sort(), errors: result.errors,
    signals: result.signals, logs: logs.slice(-150) }))
}
main().catch((e) => { console.error(e); process.exit(1) })
