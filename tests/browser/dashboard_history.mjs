// Drives the dashboard in Debian's Chromium: logs in, sees the agents online and
// the mesh healthy, opens a pair's history chart (uPlot, served by the dashboard)
// and switches ranges, then asks the test to stop one agent and watches that
// agent's matrix cells turn "down" without a reload. Screenshots in SHOTDIR.
// Usage: MUTUO_USER=... MUTUO_PASSWORD=... node dashboard_history.mjs URL SHOTDIR STOPPED AGENT...
// Protocol with the test: prints "STOP <agent>" and waits for a line on stdin.
import { chromium } from 'playwright-core';
import readline from 'node:readline';

const [url, shots, stopped, ...agents] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  const foreign = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => { if (!r.url().startsWith(url)) foreign.push(r.url()); });
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
  const [o, t] = agents.filter((a) => a !== stopped);
  // The matrix is a canvas: window.mutuoMatrix says what each cell shows.
  const cellIs = (o, t, state) => page.waitForFunction(([o, t, state]) => {
    const c = window.mutuoMatrix.cell(o, t);
    return c.state === state && (state !== 'ok' || c.loss === 0);
  }, [o, t, state], { timeout: 30000 });
  await cellIs(o, stopped, 'ok');
  await cellIs(o, t, 'ok');
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });

  // The label filter narrows the agents table.
  await page.fill('#label-filter', 'no-such-label=x');
  await page.waitForFunction(() => document.querySelectorAll('#agents tbody tr').length === 0,
                             null, { timeout: 5000 });
  await page.fill('#label-filter', '');
  await page.waitForFunction((n) => document.querySelectorAll('#agents tbody tr').length === n,
                             agents.length, { timeout: 5000 });

  // History: click the cell, a uPlot chart with points from the raw tier.
  await page.locator('#matrix').scrollIntoViewIfNeeded();
  // Keyboard: focus the matrix, the arrow keys show a cell's tooltip.
  await page.focus('#matrix');
  await page.keyboard.press('ArrowDown');
  await page.waitForSelector('#matrix-tip:not([hidden])', { timeout: 5000 });
  if (!(await page.textContent('#matrix-tip')).includes('→')) throw new Error('no keyboard tooltip');
  await page.keyboard.press('Escape');
  const at = await page.evaluate(([o, t]) => window.mutuoMatrix.point(o, t), [o, t]);
  await page.mouse.move(at.x, at.y);
  await page.waitForSelector('#matrix-tip:not([hidden])', { timeout: 5000 });
  const tip = await page.textContent('#matrix-tip');
  for (const want of ['loss: 0%', 'jitter', 'age']) {
    if (!tip.includes(want)) throw new Error(`tooltip lacks "${want}": ${tip}`);
  }
  // The round's min / avg / max, and the median once the store has the pair's
  // minute rollup (dashboard_shows_mesh waits for it); a cell only the live feed
  // brought so far says the median is not known yet.
  if (!/RTT min \/ avg \/ max: [\d.]+ \/ [\d.]+ \/ [\d.]+ ms/.test(tip) ||
      !/RTT median: ([\d.]+ ms \(last minute\)|not yet known)/.test(tip)) {
    throw new Error(`tooltip lacks the RTT lines: ${tip}`);
  }
  await page.screenshot({ path: `${shots}/matrix_tooltip.png` });
  await page.mouse.click(at.x, at.y);
  await page.waitForSelector('#pair:not([hidden]) #pair-chart canvas', { timeout: 10000 });
  await page.waitForFunction(() => {
    const i = document.getElementById('pair-info');
    return i.dataset.range === '1h' && Number(i.dataset.points) > 0;
  }, null, { timeout: 10000 });
  const tier1h = await page.getAttribute('#pair-info', 'data-tier');
  await page.screenshot({ path: `${shots}/history_1h.png`, fullPage: true });
  for (const range of ['24h', '7d', '30d']) {
    await page.click(`#ranges button[data-range="${range}"]`);
    await page.waitForFunction((r) => document.getElementById('pair-info').dataset.range === r &&
                                      document.querySelector('#pair-chart canvas') !== null,
                               range, { timeout: 10000 });
  }
  await page.screenshot({ path: `${shots}/history_30d.png`, fullPage: true });

  // Live: a marker proves the page is not reloaded while the cell changes.
  await page.waitForFunction(() => window.mutuoLive.connected, null, { timeout: 10000 });
  const eventsBefore = await page.evaluate(() => window.mutuoLive.events);
  await page.evaluate(() => { window.__mutuoMarker = 1; });
  const draws = await page.evaluate(() => window.mutuoMatrix.draws);
  console.log(`STOP ${stopped}`);
  await lines.next();
  await cellIs(o, stopped, 'down');
  if (await page.evaluate(() => window.mutuoMatrix.draws) <= draws) throw new Error('not redrawn');
  await page.waitForFunction(
      (id) => document.querySelector(`#agents tbody tr[data-agent="${id}"] .state`)
                  ?.textContent.trim() === 'offline',
      stopped, { timeout: 10000 });
  if (await page.evaluate(() => window.__mutuoMarker) !== 1) throw new Error('the page reloaded');
  const pushed = await page.evaluate(() => window.mutuoLive.events) - eventsBefore;
  if (pushed < 1) throw new Error('no event came over the live feed');
  console.log(`browser: ${pushed} live events while the agent stopped`);
  await page.screenshot({ path: `${shots}/agent_stopped.png`, fullPage: true });
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  if (foreign.length) throw new Error('requests elsewhere: ' + foreign.join(' '));
  console.log(`browser: chart drawn (1h from the ${tier1h} tier, then 24h, 7d, 30d); ` +
              `${o}->${stopped} went down live; screenshots in ${shots}`);
} catch (e) {
  failed = true;
  console.log('browser: FAIL ' + e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
