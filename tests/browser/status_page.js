// Drives Debian's Chromium (headless, through playwright-core) to shoal's status page, waits
// until it has drawn the daemon's state (its id, a hub connected, a peer), takes a screenshot and
// prints what the page shows as one JSON line.
// Usage: node status_page.js MODULES PAGE_URL SCREENSHOT_PATH
const path = require('path')
const fs = require('fs')
const os = require('os')
const { chromium } = require(path.join(process.argv[2], 'playwright-core'))

async function main () {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'shoal-chromium-'))
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync']
  })
  const page = await browser.newPage()
  const errors = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(process.argv[3])
  await page.waitForFunction(() => document.body.dataset.ready === '1' &&
    document.querySelector('#hubs .connected') && document.querySelectorAll('#peers tr').length > 1,
  null, { timeout: 30000 })
  await page.screenshot({ path: process.argv[4], fullPage: true })
  const shown = await page.evaluate(() => ({
    title: document.title,
    id: document.getElementById('id').textContent,
    hubs: [...document.querySelectorAll('#hubs tr')].slice(1).map((r) => r.textContent),
    peers: [...document.querySelectorAll('#peers tr')].slice(1).map((r) => r.textContent),
    feeds: [...document.querySelectorAll('#feeds tr')].slice(1).map((r) => r.textContent),
    recent: document.querySelectorAll('#recent tr').length - 1
  }))
  await browser.close()
  fs.rmSync(profile, { recursive: true, force: true })
  console.log(JSON.stringify({ shown, errors }))
}
main().catch((e) => { console.error(e); process.exit(1) })
