// Silences, notification channels, the alert history and label edits as an
// admin does them in the page (Debian's Chromium): start a silence for an agent
// (with markup in its comment, which must show as text), see it active, end it;
// add a webhook channel, disable it; edit a registered agent's labels through
// the page's prompt; the alert history lists what the receiver recorded. A
// viewer sees the channel's URL masked and no way to change anything.
// Usage: MUTUO_USER=... MUTUO_PASSWORD=... MUTUO_VIEWER=... MUTUO_VIEWER_PASSWORD=...
//        node ops_silences_channels.mjs URL AGENT HOOK_URL SCREENSHOT_DIR
import { chromium } from 'playwright-core';

const [url, agent, hookUrl, shots] = process.argv.slice(2);
const XSS = '<img src=x onerror=alert(1)>';
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let failed = false;
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 1400 } })).newPage();
  const errors = [];
  const dialogs = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('dialog', async (d) => {
    dialogs.push(d.type());
    if (d.type() === 'prompt') await d.accept('site=lab2, rack=r7');  // the label editor
    else if (d.type() === 'confirm') await d.accept();
    else await d.dismiss();  // alert() would be XSS
  });
  await page.goto(url, { timeout: 10000 });
  await page.waitForSelector('#login:not([hidden])', { timeout: 10000 });
  await page.fill('#login-user', process.env.MUTUO_USER);
  await page.fill('#login-password', process.env.MUTUO_PASSWORD);
  await page.click('#login-submit');
  await page.waitForSelector('#silence-form:not([hidden])', { timeout: 10000 });

  // A silence for the agent, one hour.
  await page.selectOption('#si-kind', 'peer');
  await page.fill('#si-target', agent);
  await page.selectOption('#si-duration', '3600');
  await page.fill('#si-comment', XSS);
  await page.click('#si-submit');
  const silenceRow = '#silences tbody tr[data-silence]';
  await page.waitForSelector(silenceRow, { timeout: 10000 });
  const covers = await page.textContent(silenceRow + ' td:nth-child(2)');
  if (covers !== 'peer/' + agent) throw new Error('the silence covers ' + covers);
  if ((await page.textContent(silenceRow + ' .silence-state')) !== 'active') throw new Error('silence not active');
  if ((await page.textContent(silenceRow + ' td:nth-child(6)')) !== XSS) throw new Error('comment not shown as text');
  if (await page.locator('img').count() !== 0) throw new Error('the comment became an <img>');
  console.log('browser: silence for ' + agent + ' started, active');

  // A webhook channel, then disabled.
  await page.fill('#chan-id', 'ops-hook');
  await page.fill('#chan-url', hookUrl);
  await page.fill('#chan-rate', '12');
  await page.click('#chan-submit');
  const chanRow = '#channels tbody tr[data-channel="ops-hook"]';
  await page.waitForSelector(chanRow, { timeout: 10000 });
  if ((await page.textContent(chanRow + ' .channel-url')) !== hookUrl) throw new Error('admin sees no URL');
  await page.click(chanRow + ' .toggle-channel');
  await page.waitForFunction((r) => document.querySelector(r + ' .channel-state')?.textContent === 'disabled',
                             chanRow, { timeout: 10000 });
  console.log('browser: channel ops-hook added and disabled');

  // Labels in place.
  const regRow = `#registered tr[data-registered="${agent}"]`;
  await page.waitForSelector(regRow, { timeout: 10000 });
  await page.click(regRow + ' .edit-labels');
  await page.waitForFunction((r) => document.querySelector(r + ' .labels')?.textContent.includes('rack=r7'),
                             regRow, { timeout: 10000 });
  console.log('browser: labels of ' + agent + ' changed in place');

  // The alert history shows what the receiver recorded (the test made an alert).
  await page.selectOption('#hist-since', '0');
  await page.click('#hist-submit');
  await page.waitForSelector(`#alert-history tbody tr[data-history="peer/${agent}"]`, { timeout: 15000 });
  console.log('browser: alert history lists peer/' + agent);
  await page.screenshot({ path: shots + '/admin.png', fullPage: true });

  // End the silence.
  await page.click(silenceRow + ' .end-silence');
  await page.waitForSelector('#silences-empty:not([hidden])', { timeout: 10000 });
  console.log('browser: silence ended');

  // A viewer: the channel's URL masked, no forms, no buttons.
  const viewer = await (await browser.newContext()).newPage();
  viewer.on('pageerror', (e) => errors.push('viewer: ' + String(e)));
  await viewer.goto(url, { timeout: 10000 });
  await viewer.fill('#login-user', process.env.MUTUO_VIEWER);
  await viewer.fill('#login-password', process.env.MUTUO_VIEWER_PASSWORD);
  await viewer.click('#login-submit');
  await viewer.waitForSelector(chanRow, { timeout: 10000 });
  const masked = await viewer.textContent(chanRow + ' .channel-url');
  if (!masked.endsWith('/***') || masked === hookUrl) throw new Error('a viewer sees the URL ' + masked);
  if (await viewer.isVisible('#silence-form') || await viewer.isVisible('#channel-form')) {
    throw new Error('a viewer sees the silence or channel form');
  }
  if (await viewer.locator(chanRow + ' button').count() !== 0) throw new Error('a viewer has channel buttons');
  console.log('browser: a viewer sees the channel masked and cannot change it');
  if (dialogs.filter((d) => d !== 'prompt' && d !== 'confirm').length) throw new Error('dialogs: ' + dialogs);
  if (errors.length) throw new Error('page errors: ' + errors.join('; '));
} catch (e) {
  failed = true;
  console.error('browser: FAIL', e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
