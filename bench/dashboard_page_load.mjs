// The dashboard page's cold load in Debian's Chromium, for bench/dashboard_bench.py:
// bytes transferred (HTML, uPlot, API answers), first contentful paint, and when
// the mesh matrix is first drawn with every agent. Logged in by a session cookie.
// Usage: node dashboard_page_load.mjs URL SESSION_COOKIE_VALUE EXPECTED_AGENTS SCREENSHOT
import { createRequire } from 'node:module';
import path from 'node:path';
import url from 'node:url';

const here = path.dirname(url.fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'tests', 'browser', 'package.json'));
const { chromium } = require('playwright-core');

const [base, cookie, expected, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  await context.addCookies([{ name: 'mutuo_session', value: cookie, url: base }]);
  const page = await context.newPage();
  const sizes = [];
  page.on('requestfinished', async (r) => {
    const s = await r.sizes().catch(() => null);
    if (s) sizes.push({ url: r.url(), bytes: s.responseBodySize + s.responseHeadersSize });
  });
  await page.goto(base, { timeout: 20000 });
  await page.waitForFunction((n) => window.mutuoMatrix && window.mutuoMatrix.size >= n &&
                                    window.mutuoMatrix.draws > 0, Number(expected), { timeout: 30000 });
  const t = await page.evaluate(() => ({
    matrix_ms: window.mutuoMatrix.firstDrawMs,
    fcp_ms: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime ?? null,
    dom_ms: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
  }));
  await page.waitForTimeout(500);  // let the last requestfinished events land
  await page.screenshot({ path: shot });
  const total = sizes.reduce((a, s) => a + s.bytes, 0);
  const matrix = sizes.filter((s) => s.url.includes('api/matrix')).reduce((a, s) => a + s.bytes, 0);
  const html = sizes.filter((s) => s.url === base).reduce((a, s) => a + s.bytes, 0);
  console.log(JSON.stringify({ ...t, total_bytes: total, matrix_bytes: matrix, html_bytes: html,
                               requests: sizes.length }));
} finally {
  await browser.close();
}
