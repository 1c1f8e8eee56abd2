// The registration flow as an admin does it, in Debian's Chromium: log in,
// register an agent (its display name is markup, which must show as text), copy
// the token with the page's Copy button, hand it to the agent host (written to
// TOKEN_FILE, mode 600; the Python side then starts the agent with it), and see
// the agent come online. Afterwards the token is gone from the page.
// Usage: MUTUO_USER=... MUTUO_PASSWORD=... node registration_flow.mjs URL AGENT TOKEN_FILE SCREENSHOT
import { chromium } from 'playwright-core';
import { writeFileSync } from 'node:fs';

const [url, agent, tokenFile, screenshot] = process.argv.slice(2);
const XSS = '<img src=x onerror=alert(1)>';
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  const errors = [];
  const dialogs = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', async (d) => {
    dialogs.push(d.type() + ': ' + d.message());
    await d.accept();  // the page's own confirm() for rotate/delete; alert() would be XSS
  });

  await page.goto(url, { timeout: 10000 });
  await page.waitForSelector('#login:not([hidden])', { timeout: 10000 });
  await page.fill('#login-user', process.env.MUTUO_USER);
  await page.fill('#login-password', process.env.MUTUO_PASSWORD);
  await page.click('#login-submit');
  await page.waitForSelector('#register-form:not([hidden])', { timeout: 10000 });
  console.log('browser: logged in as admin');

  await page.fill('#reg-id', agent);
  await page.fill('#reg-name', XSS);
  await page.fill('#reg-labels', 'site=lab, provider=test');
  await page.click('#reg-submit');
  await page.waitForSelector('#token-panel:not([hidden])', { timeout: 10000 });
  const shown = await page.inputValue('#token-value');
  if (!/^[A-Za-z0-9_-]{22,}$/.test(shown)) throw new Error('no token shown: ' + shown);
  const command = await page.textContent('#token-command');
  if (!command.includes('--id ' + agent) || !command.includes('--token-file')) {
    throw new Error('no agent command line: ' + command);
  }
  await page.click('#copy-token');
  await page.waitForFunction(() => document.getElementById('copy-status').textContent === 'copied',
                             null, { timeout: 5000 });
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  if (copied !== shown) throw new Error('the clipboard does not hold the token');
  writeFileSync(tokenFile, copied + '\n', { mode: 0o600 });
  console.log('browser: registered ' + agent + ', token copied to the agent host');

  // The markup in the display name is text, everywhere it appears.
  const row = `#registered tr[data-registered="${agent}"]`;
  await page.waitForSelector(row, { timeout: 10000 });
  const name = await page.textContent(row + ' .display-name');
  if (name !== XSS) throw new Error('display name rendered as ' + JSON.stringify(name));
  if (await page.locator('img').count() !== 0) throw new Error('the display name became an <img>');

  // The agent, started with the token, comes online in both tables.
  await page.waitForFunction(
      (id) => document.querySelector(`#agents tbody tr[data-agent="${id}"] .state`)
                  ?.textContent.trim() === 'online' &&
              document.querySelector(`#registered tr[data-registered="${id}"] .reg-state`)
                  ?.textContent.trim() === 'online',
      agent, { timeout: 40000 });
  const presenceName = await page.textContent(`#agents tbody tr[data-agent="${agent}"] .name`);
  if (presenceName !== XSS) throw new Error('presence shows the name as ' + presenceName);
  if (await page.locator('img').count() !== 0) throw new Error('an <img> appeared');
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log('browser: ' + agent + ' is online');

  // Done: the token leaves the page and does not come back with a reload.
  await page.click('#token-done');
  await page.waitForSelector('#token-panel', { state: 'hidden', timeout: 5000 });
  await page.reload();
  await page.waitForSelector(row, { timeout: 10000 });
  const html = await page.content();
  if (html.includes(shown)) throw new Error('the token is still in the page');
  if (dialogs.length) throw new Error('dialogs opened: ' + dialogs.join('; '));

  // The admin adds a viewer, who sees the registration but no way to change it.
  await page.fill('#user-name', 'watcher');
  await page.fill('#user-password', 'watcher-password-1');
  await page.selectOption('#user-role', 'viewer');
  await page.click('#user-submit');
  await page.waitForSelector('#user-list tr[data-user="watcher"]', { timeout: 10000 });
  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  viewer.on('pageerror', (e) => errors.push('viewer: ' + String(e)));
  await viewer.goto(url, { timeout: 10000 });
  await viewer.fill('#login-user', 'watcher');
  await viewer.fill('#login-password', 'watcher-password-1');
  await viewer.click('#login-submit');
  await viewer.waitForSelector(row, { timeout: 10000 });
  if (await viewer.isVisible('#register-form')) throw new Error('a viewer sees the register form');
  if (await viewer.isVisible('#users')) throw new Error('a viewer sees the users section');
  if (await viewer.locator(row + ' button').count() !== 0) throw new Error('a viewer has agent buttons');
  console.log('browser: a viewer added by the admin sees the agent but cannot change anything');
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
  console.log('browser: token gone from the page; no dialog, no page error');
} catch (e) {
  failed = true;
  console.error('browser: FAIL', e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
