// End-to-end test of the page in Debian's headless Chromium, driven by
// playwright-core. Run by tests/integration/serve_e2e.sh, which starts the
// server and passes:
//   DOSSIER_URL   the server's base URL
//   FIXTURE       a text file to upload (its words include "nightjars")
//   ARTIFACT_DIR  where screenshots go (the build directory)
// A person would: open the page, pick a file, watch its step change live,
// open its dossier, search for a word in it, and use a narrow window.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = process.env.DOSSIER_URL;
const fixture = process.env.FIXTURE;
const artifacts = process.env.ARTIFACT_DIR || '.';
if (!url || !fixture) {
  console.error('page.test.mjs: set DOSSIER_URL and FIXTURE (run through tests/integration/serve_e2e.sh)');
  process.exit(2);
}

let passed = 0, failed = 0;
function check(desc, cond, detail = '') {
  if (cond) { passed++; console.log(`ok   - ${desc}`); }
  else { failed++; console.log(`FAIL - ${desc}${detail ? ` (${detail})` : ''}`); }
}

const profile = mkdtempSync(join(tmpdir(), 'dossier-chromium-'));
const ctx = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = ctx.pages()[0] || await ctx.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

try {
  await page.goto(url + '/');
  await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: 10000 });
  check('the page connects to the event stream', true);
  await page.waitForFunction(() => document.getElementById('policy').textContent !== '–', null, { timeout: 10000 });
  check('the models strip shows the policy', (await page.textContent('#policy')).includes('grouped'));
  check('offline mode is stated in the models strip',
    (await page.textContent('#models-msg')).includes('offline'));

  // Record every state the queue shows, so a step that lasts milliseconds is seen.
  await page.evaluate(() => {
    window.__seen = [];
    new MutationObserver(() => {
      for (const li of document.querySelectorAll('#queue li')) {
        const t = li.querySelector('.step')?.textContent + ' | ' + li.querySelector('.badge')?.textContent;
        if (window.__seen[window.__seen.length - 1] !== t) window.__seen.push(t);
      }
    }).observe(document.getElementById('queue'), { childList: true, subtree: true, characterData: true });
  });

  await page.setInputFiles('#file', fixture);
  const item = page.locator('#queue li', { hasText: 'nightjars.txt' });
  await item.waitFor({ timeout: 10000 });
  check('the uploaded file appears in the queue under its own name', true);
  await page.locator('#queue li', { hasText: 'nightjars.txt' }).locator('.badge', { hasText: 'done' })
    .waitFor({ timeout: 30000 });
  const seen = await page.evaluate(() => window.__seen);
  check('the queue showed a step running, from SSE', seen.some((s) => /(extract_text|analyze_text) \(cpu\d+\)…/.test(s)),
    JSON.stringify(seen));
  check('the queue showed the step finishing, then done',
    seen.some((s) => /done in/.test(s)) && seen[seen.length - 1].endsWith('| done'), JSON.stringify(seen));
  check('the upload list says the file was uploaded', (await page.textContent('#uploads')).includes('nightjars.txt: uploaded, queued for analysis'));

  // open the dossier with the keyboard
  await page.locator('#queue li', { hasText: 'nightjars.txt' }).locator('button').focus();
  await page.keyboard.press('Enter');
  await page.waitForSelector('#dossier h3', { timeout: 10000 });
  const dossier = await page.textContent('#dossier');
  check('the dossier shows its title', (await page.textContent('#dossier h2')).includes('Nightjars'), dossier.slice(0, 200));
  check('the dossier has a summary', dossier.includes('Summary'));
  check('the dossier has tags', dossier.includes('Tags'));
  check('the dossier offers the extracted text', dossier.includes('Text ('));
  check('focus moved to the dossier', await page.evaluate(() => document.activeElement.id === 'dossier'));
  await page.screenshot({ path: join(artifacts, 'e2e-dossier.png'), fullPage: true });

  // search with highlighted snippets
  await page.fill('#q', 'nightjars');
  await page.press('#q', 'Enter');
  await page.waitForSelector('#results-list mark', { timeout: 10000 });
  const marks = await page.$$eval('#results-list mark', (ms) => ms.map((m) => m.textContent.toLowerCase()));
  check('search results highlight the word', marks.includes('nightjars'), JSON.stringify(marks));
  await page.fill('#q', 'zzzznotthere');
  await page.press('#q', 'Enter');
  await page.waitForFunction(() => document.getElementById('results-list').textContent.includes('Nothing matches'));
  check('a search without results says so', true);
  await page.fill('#q', 'nightjars');
  await page.press('#q', 'Enter');
  await page.waitForSelector('#results-list mark');
  await page.screenshot({ path: join(artifacts, 'e2e-page.png'), fullPage: true });

  // keyboard: the first Tab reaches the skip link, the next ones the search box
  await page.reload();
  await page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: 10000 });
  await page.keyboard.press('Tab');
  check('Tab reaches the skip link first', await page.evaluate(() => document.activeElement.className === 'skip'));
  await page.keyboard.press('Tab');
  check('then the search box', await page.evaluate(() => document.activeElement.id === 'q'));

  // a narrow window: one column, nothing wider than the screen
  await page.setViewportSize({ width: 380, height: 800 });
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check('a 380 px window does not scroll sideways', overflow <= 0, `${overflow}px too wide`);
  await page.screenshot({ path: join(artifacts, 'e2e-narrow.png'), fullPage: true });

  check('no JavaScript errors', consoleErrors.length === 0, consoleErrors.join(' | '));
} catch (e) {
  check('the page test ran to the end', false, String(e && e.stack || e));
  try { await page.screenshot({ path: join(artifacts, 'e2e-failure.png'), fullPage: true }); } catch (_) { /* closed */ }
} finally {
  await ctx.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
