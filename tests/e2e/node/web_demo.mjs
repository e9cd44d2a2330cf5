// Drives the browser demo (web/) in an installed headless Chromium with playwright-core, for tests/e2e/test_web.py.
//
// Usage: node web_demo.mjs <page url> <screenshot.png>
// The page URL serves web/ with an events.json next to it. Prints one JSON line per step and waits between
// steps for the Python side (which publishes and drops the socket when it reads a `waiting` step):
//   {"step":"subscribed"}                       the page opened the socket and subscribed
//   {"step":"rendered","comments":[...]}        a comment typed into the form came back over the socket
//   {"step":"waiting","for":"python-publish"}   -> Python publishes one comment over HTTP
//   {"step":"rendered","comments":[...]}
//   {"step":"waiting","for":"reconnect"}        -> Python drops the page's WebSocket (close 1013)
//   {"step":"resubscribed","notice":"..."}
//   {"step":"waiting","for":"python-publish"}   -> Python publishes again
//   {"step":"done","comments":[...],"states":[...],"markupInComments":0,"pageErrors":[],"consoleErrors":[]}
// Exits 1 with a one-line error on stderr otherwise. Never prints the config or the API key.
import { launchChromium, watchdog as startWatchdog } from './chromium.mjs'

const [pageUrl, screenshotPath] = process.argv.slice(2)
const STEP_TIMEOUT_MS = 10000
const say = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const watchdog = startWatchdog('web_demo', 40000)
const browser = await launchChromium()
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } })
  page.setDefaultTimeout(STEP_TIMEOUT_MS)
  const pageErrors = []
  const consoleErrors = []
  page.on('pageerror', (err) => pageErrors.push(String(err.message || err)))
  page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()) })
  // Record every change of the status badge's data-state, from the first one on.
  await page.addInitScript(() => {
    window.__states = []
    document.addEventListener('DOMContentLoaded', () => {
      const status = document.getElementById('status')
      new MutationObserver(() => {
        const state = status.dataset.state
        if (window.__states[window.__states.length - 1] !== state) window.__states.push(state)
      }).observe(status, { attributes: true, attributeFilter: ['data-state'] })
    })
  })

  const comments = () => page.$$eval('#comments li.comment', (items) => items.map((li) => ({
    author: li.querySelector('.author').textContent,
    content: li.querySelector('.content').textContent,
  })))
  const waitForComments = (n) => page.waitForFunction(
    (count) => document.querySelectorAll('#comments li.comment').length >= count, n)
  const waitForState = (state) => page.waitForSelector(`#status[data-state="${state}"]`)
  const nextLine = (() => {
    const lines = []
    let wake = null
    process.stdin.setEncoding('utf8')
    let buffer = ''
    process.stdin.on('data', (chunk) => {
      buffer += chunk
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        lines.push(buffer.slice(0, nl))
        buffer = buffer.slice(nl + 1)
        if (wake) wake()
      }
    })
    return async () => {
      while (!lines.length) await new Promise((resolve) => { wake = resolve })
      return lines.shift()
    }
  })()
  const handOver = async (what) => {
    say({ step: 'waiting', for: what })
    const answer = await nextLine()
    if (answer !== 'ok') throw new Error(`python side answered ${JSON.stringify(answer)}`)
  }

  await page.goto(pageUrl)
  await waitForState('subscribed')
  say({ step: 'subscribed' })

  await page.fill('#author', 'jesse millman')
  await page.fill('#content', 'unreal blog post my guy, <b>sockets</b> are great! & "quoted"')
  await page.click('#submit')
  await waitForComments(1)
  say({ step: 'rendered', comments: await comments(), formContent: await page.inputValue('#content') })

  await handOver('python-publish')
  await waitForComments(2)
  say({ step: 'rendered', comments: await comments() })

  await handOver('reconnect')
  await page.waitForFunction(() => window.__states.filter((s) => s === 'subscribed').length >= 2)
  say({ step: 'resubscribed', notice: await page.textContent('#notice') })

  await handOver('python-publish')
  await waitForComments(3)
  await page.screenshot({ path: screenshotPath, fullPage: true })
  say({
    step: 'done',
    comments: await comments(),
    states: await page.evaluate(() => window.__states),
    markupInComments: await page.$$eval('#comments .content *', (els) => els.length),
    pageErrors,
    consoleErrors,
  })
} catch (err) {
  // What the page showed when a step failed: status badge, notice and form error (never the config).
  const page = browser.contexts()[0]?.pages()[0]
  const shown = page ? await page.evaluate(() => ['status', 'notice', 'form-error']
    .map((id) => `${id}=${JSON.stringify(document.getElementById(id).textContent)}`).join(' ')).catch(() => '') : ''
  process.stderr.write(`web_demo: ${String(err.message || err).split('\n')[0]} (page: ${shown})\n`)
  process.exitCode = 1
} finally {
  clearTimeout(watchdog)
  await browser.close()
}
process.exit(process.exitCode ?? 0)
