// An installed headless Chromium through playwright-core, as the browser tests launch it, and a watchdog for them.
// CHROMIUM is the browser's path: tests/e2e/browser.py finds it ($CHROME_PATH, chromium or google-chrome).
import { chromium } from 'playwright-core'

if (!process.env.CHROMIUM) {
  process.stderr.write('CHROMIUM is not set: the browser tests pass the path of an installed Chromium\n')
  process.exit(2)
}

// The flags this machine's headless Chromium needs (no sandbox as root, no background network to Google).
export const launchChromium = (extraArgs = []) => chromium.launch({
  executablePath: process.env.CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', ...extraArgs],
})

// Exit 1 with one line when the whole run takes longer than `ms`; returns the timer (clearTimeout it when done).
export const watchdog = (name, ms) => setTimeout(() => {
  process.stderr.write(`${name}: timed out after ${ms} ms\n`)
  process.exit(1)
}, ms)
