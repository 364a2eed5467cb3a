// Baseline for `wayfarer bench browser`: N × (newContext, newPage, goto URL, close) with
// playwright-core on the same Debian Chromium. Prints {"samples_ms":[...]} on stdout.
import { chromium } from 'playwright-core';

const [url, n = '20'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.WAYFARER_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const samples = [];
for (let i = 0; i < Number(n) + 2; i++) {
  const t = performance.now();
  const context = await browser.newContext({ viewport: { width: 1024, height: 600 } });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'load' });
  await context.close();
  if (i >= 2) samples.push(performance.now() - t); // two warm-up rounds
}
await browser.close();
console.log(JSON.stringify({ samples_ms: samples }));
