// Two windows of the page `make web` serves, in an installed headless Chromium (playwright-core), for
// tests/e2e/test_web.py: a comment posted in the first shows up in the second.
//
// Usage: node web_two_pages.mjs <page url> [<trusted server certificate SPKI sha256, base64>]
// With a SPKI hash, Chromium trusts exactly that server key (the local CA's server certificate) and nothing else
// of the local CA: the page and the API over https/wss. Prints one JSON line:
//   {"first":[...comments],"second":[...comments],"states":["subscribed","subscribed"],"pageErrors":[],"consoleErrors":[]}
// Exits 1 with a one-line error on stderr otherwise. Never prints the config or the API key.
import { launchChromium, watchdog as startWatchdog } from './chromium.mjs'

const [pageUrl, spki] = process.argv.slice(2)
const STEP_TIMEOUT_MS = 10000
const watchdog = startWatchdog('web_two_pages', 40000)
const browser = await launchChromium(spki ? [`--ignore-certificate-errors-spki-list=${spki}`] : [])
const pageErrors = []
const consoleErrors = []
try {
  const open = async () => {
    const page = await (await browser.newContext()).newPage() // two windows: separate contexts, no shared state
    page.setDefaultTimeout(STEP_TIMEOUT_MS)
    page.on('pageerror', (err) => pageErrors.push(String(err.message || err)))
    page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()) })
    await page.goto(pageUrl)
    await page.waitForSelector('#status[data-state="subscribed"]')
    return page
  }
  const comments = (page) => page.$$eval('#comments li.comment', (items) => items.map((li) => ({
    author: li.querySelector('.author').textContent,
    content: li.querySelector('.content').textContent,
  })))
  const first = await open()
  const second = await open()
  await first.fill('#author', 'jesse millman')
  await first.fill('#content', 'unreal blog post my guy, sockets are great!')
  await first.click('#submit')
  await second.waitForFunction(() => document.querySelectorAll('#comments li.comment').length >= 1)
  await first.waitForFunction(() => document.querySelectorAll('#comments li.comment').length >= 1)
  const states = await Promise.all([first, second].map((p) => p.getAttribute('#status', 'data-state')))
  process.stdout.write(JSON.stringify({
    first: await comments(first), second: await comments(second), states, pageErrors, consoleErrors,
  }) + '\n')
} catch (err) {
  process.stderr.write(`web_two_pages: ${String(err.message || err).split('\n')[0]} (page errors: ${JSON.stringify(pageErrors)})\n`)
  process.exitCode = 1
} finally {
  clearTimeout(watchdog)
  await browser.close()
}
process.exit(process.exitCode ?? 0)
