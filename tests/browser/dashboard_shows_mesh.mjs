// Drives the dashboard in Debian's Chromium as a person would: the agents table
// logs in, the agents table lists the given agents online and the mesh matrix
// fills in, and a cell's tooltip shows RTT min, median and max. Writes a screenshot.
// Usage: MUTUO_USER=... MUTUO_PASSWORD=... node dashboard_shows_mesh.mjs URL SCREENSHOT AGENT...
import { chromium } from 'playwright-core';

const [url, screenshot, ...agents] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url, { timeout: 10000 });
  await page.fill('#login-user', process.env.MUTUO_USER);
  await page.fill('#login-password', process.env.MUTUO_PASSWORD);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  for (const a of agents) {
    await page.waitForFunction(
        (id) => document.querySelector(`#agents tbody tr[data-agent="${id}"] .state`)
                    ?.textContent.trim() === 'online',
        a, { timeout: 20000 });
  }
  for (const o of agents) {
    for (const t of agents) {
      if (o === t) continue;
      // The matrix is a canvas: window.mutuoMatrix says what each cell shows.
      await page.waitForFunction(([o, t]) => {
        const c = window.mutuoMatrix.cell(o, t);
        return c.state === 'ok' && c.loss === 0;
      }, [o, t], { timeout: 30000 });
    }
  }
  // The tooltip shows RTT min / avg / max of the last round and the median of the
  // last minute, from the store's minute rollup of the pair (brought by the next
  // full load, at most 15 s after the first results).
  const [o, t] = agents;
  await page.waitForFunction(([o, t]) => window.mutuoMatrix.cell(o, t).p50 !== null, [o, t],
                             { timeout: 30000 });
  const p50 = await page.evaluate(([o, t]) => window.mutuoMatrix.cell(o, t).p50, [o, t]);
  if (!(p50 > 0 && p50 < 1000)) throw new Error(`implausible median RTT ${p50} ms`);
  await page.locator('#matrix').scrollIntoViewIfNeeded();
  const at = await page.evaluate(([o, t]) => window.mutuoMatrix.point(o, t), [o, t]);
  await page.mouse.move(at.x, at.y);
  await page.waitForSelector('#matrix-tip:not([hidden])', { timeout: 5000 });
  const tip = await page.textContent('#matrix-tip');
  if (!/RTT min \/ avg \/ max: [\d.]+ \/ [\d.]+ \/ [\d.]+ ms \(last round\)/.test(tip)) {
    throw new Error(`tooltip shows no min / avg / max: ${tip}`);
  }
  const line = /RTT median: ([\d.]+) ms \(last minute\)/.exec(tip);
  if (!line) throw new Error(`tooltip shows no median: ${tip}`);
  if (Math.abs(Number(line[1]) - p50) > Math.max(0.01, p50 * 0.01)) {
    throw new Error(`tooltip median ${line[1]} is not the cell's ${p50}: ${tip}`);
  }
  await page.screenshot({ path: screenshot, fullPage: true });
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  console.log(`browser: ${agents.length} agents online and ${agents.length * (agents.length - 1)} matrix cells healthy; screenshot ${screenshot}`);
} catch (e) {
  failed = true;
  console.error('browser: FAIL', e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
