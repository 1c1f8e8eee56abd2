// Drives the dashboard in Debian's Chromium: an admin creates an HTTP check in
// the page and sees its first result, puts it and an agent on the public status
// page, logs out and opens that page; a page without WebSocket falls back to
// polling. Screenshots in SHOTDIR.
// Usage: MUTUO_USER=... MUTUO_PASSWORD=... node dashboard_checks_status.mjs URL SHOTDIR TARGET_URL AGENT...
import { chromium } from 'playwright-core';

const [url, shots, target, ...agents] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url, { timeout: 10000 });
  await page.fill('#login-user', process.env.MUTUO_USER);
  await page.fill('#login-password', process.env.MUTUO_PASSWORD);
  await page.click('#login-submit');
  await page.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  await page.waitForFunction((n) => document.querySelectorAll('#agents .badge.online').length === n,
                             agents.length, { timeout: 20000 });

  // Create the check through the form, as a user would.
  await page.click('#new-check');
  await page.fill('#ck-id', 'local-web');
  await page.selectOption('#ck-type', 'http');
  await page.fill('#ck-url', target);
  await page.fill('#ck-expect-status', '200');
  await page.fill('#ck-expect-keyword', 'ok');
  await page.fill('#ck-interval', '2');
  await page.fill('#ck-observers', '2');
  await page.screenshot({ path: `${shots}/check_form.png`, fullPage: true });
  await page.click('#ck-submit');
  await page.waitForFunction(() => location.hash === '#/check/local-web', null, { timeout: 5000 });
  await page.waitForSelector('#check-state[data-state="up"]', { timeout: 30000 });
  const first = await page.textContent('#detail-body table.results tbody tr');
  if (!first.includes('200')) throw new Error('first result without status 200: ' + first);
  await page.screenshot({ path: `${shots}/check_page.png`, fullPage: true });
  console.log('browser: check local-web created in the page; first result: ' + first.replace(/\s+/g, ' ').trim());

  // The agent page lists whom it observes and who observes it.
  await page.goto(url + '#/agent/' + agents[0]);
  await page.waitForFunction(() => document.querySelectorAll('#detail-body .columns table').length === 2,
                             null, { timeout: 10000 });
  await page.screenshot({ path: `${shots}/agent_page.png`, fullPage: true });

  // Back on the overview the check shows up; the status page is switched on.
  await page.goto(url + '#/');
  await page.waitForSelector('#checks tr[data-check="local-web"] .badge.online', { timeout: 10000 });
  await page.check('#sp-enabled');
  await page.fill('#sp-title', 'Test status');
  await page.fill('#sp-checks', 'local-web');
  await page.fill('#sp-peers', agents[0]);
  await page.click('#sp-submit');
  await page.waitForSelector('#sp-link:not([hidden])', { timeout: 5000 });
  await page.screenshot({ path: `${shots}/overview.png`, fullPage: true });

  // Without WebSocket the page polls, and still shows the agents and the mesh.
  const polling = await context.newPage();
  await polling.addInitScript(() => { delete window.WebSocket; });
  await polling.goto(url, { timeout: 10000 });
  await polling.waitForSelector('#app:not([hidden])', { timeout: 10000 });
  await polling.waitForFunction(([o, t]) => window.mutuoMatrix.cell(o, t).state === 'ok',
                                [agents[0], agents[1]], { timeout: 15000 });
  const status = await polling.evaluate(() => ({ connected: window.mutuoLive.connected,
                                                 text: document.getElementById('live').textContent }));
  if (status.connected || !status.text.includes('polling')) throw new Error('expected polling: ' + JSON.stringify(status));
  await polling.close();

  // Logged out, the public page: both shown, operational, 90 bars each.
  await page.click('#logout');
  await page.waitForSelector('#login:not([hidden])', { timeout: 5000 });
  const anon = await browser.newPage({ viewport: { width: 1100, height: 800 } });
  await anon.goto(url + 'status', { timeout: 10000 });
  await anon.waitForSelector('.item[data-id="local-web"][data-state="up"]', { timeout: 40000 });
  await anon.waitForSelector(`.item[data-id="${agents[0]}"][data-state="up"]`, { timeout: 10000 });
  const bars = await anon.evaluate(() => document.querySelectorAll('.item[data-id="local-web"] .bars span').length);
  if (bars !== 90) throw new Error(`expected 90 uptime bars, found ${bars}`);
  const text = await anon.textContent('body');
  if (text.includes(target)) throw new Error('the public page shows the check URL');
  await anon.screenshot({ path: `${shots}/status_page.png`, fullPage: true });
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  console.log(`browser: the public status page shows local-web and ${agents[0]} operational; screenshots in ${shots}`);
} catch (e) {
  failed = true;
  console.log('browser: FAIL ' + e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
