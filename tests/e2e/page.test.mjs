// End-to-end test of the page in Debian's headless Chromium, driven by
// playwright-core. Run by tests/integration/serve_e2e.sh, which starts the
// server and passes:
//   DOSSIER_URL   the server's base URL
//   FIXTURE       a text file to upload (its words include "nightjars")
//   SAMPLES       the samples/ directory (a video, a picture, a PDF)
//   ARTIFACT_DIR  where screenshots go (the build directory)
// A person would: open the page, pick files, watch their steps change live in
// plain words, open a dossier (by keyboard and by its address), search, go
// Back and Forward, play the video from a transcript line, download the
// dossier, filter, sort and page the list, delete a document, and use the
// page in the dark and in a 380 px window.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const url = process.env.DOSSIER_URL;
const fixture = process.env.FIXTURE;
const samples = process.env.SAMPLES;
const artifacts = process.env.ARTIFACT_DIR || '.';
if (!url || !fixture || !samples) {
  console.error('page.test.mjs: set DOSSIER_URL, FIXTURE and SAMPLES (run through tests/integration/serve_e2e.sh)');
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
  acceptDownloads: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
});
const page = ctx.pages()[0] || await ctx.newPage();
const consoleErrors = [];
let deletedId = -1;
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  // the deleted document's 404 is the one error this test asks for
  if (deletedId > 0 && (m.location().url || '').includes(`/api/documents/${deletedId}`)) return;
  // a server busy making thumbnails says 503 and the page asks again (by design)
  if (/status of 503/.test(m.text()) && /\/thumbnail/.test(m.location().url || '')) return;
  consoleErrors.push(m.text() + ' ' + (m.location().url || ''));
});
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const ranged = [];
page.on('response', (r) => { if (/\/file(\?|$)/.test(r.url())) ranged.push(r.status()); });

const live = () => page.waitForFunction(() => document.getElementById('conn').textContent === 'live', null, { timeout: 10000 });
const hash = () => page.evaluate(() => location.hash);
const rowOf = (text) => page.locator('#queue li', { hasText: text });
const doneRow = (text, timeout = 60000) => rowOf(text).locator('.badge', { hasText: /^(done|partial)$/ }).waitFor({ timeout });
const idOf = async (text) => Number(await rowOf(text).first().getAttribute('data-id'));
const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
async function dossierOpen(id) {
  await page.waitForFunction((i) => document.getElementById('dossier').dataset.id === String(i), id, { timeout: 10000 });
}

try {
  await page.goto(url + '/');
  await live();
  check('the page connects to the event stream', true);
  await page.waitForFunction(() => document.getElementById('policy').textContent !== '–', null, { timeout: 10000 });
  check('the models strip shows the policy', (await page.textContent('#policy')).includes('grouped'));
  check('offline mode is stated in the models strip', (await page.textContent('#models-msg')).includes('offline'));
  await page.waitForFunction(() => /done/.test(document.getElementById('workers').textContent), null, { timeout: 10000 })
    .catch(() => {});
  check('the workers strip shows the server as a worker, with its host and what it did',
    /: (idle|[a-z_]+ of #\d+).* · \d+ done/.test(await page.textContent('#workers')), await page.textContent('#workers'));

  // ---- live steps in plain words
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
  await rowOf('nightjars.txt').waitFor({ timeout: 10000 });
  check('the uploaded file appears in the list under its own name', true);
  await doneRow('nightjars.txt', 30000);
  const seen = await page.evaluate(() => window.__seen);
  check('the list showed a step running, in words, from SSE',
    seen.some((s) => /(Reading the text|Summarising the text)…/.test(s)), JSON.stringify(seen));
  check('no step is shown by its internal name or lane', !seen.some((s) => /extract_text|analyze_text|cpu\d/.test(s)), JSON.stringify(seen));
  check('the list showed the step finishing, then done',
    seen.some((s) => /done in/.test(s)) && seen[seen.length - 1].endsWith('| done'), JSON.stringify(seen));
  check('the upload list says the file was uploaded', (await page.textContent('#uploads')).includes('nightjars.txt: uploaded, queued for analysis'));
  const textId = await idOf('nightjars.txt');
  check('once done, the row shows the title under the file name', /Nightjars/.test(await rowOf('nightjars.txt').locator('.title').textContent()));

  // ---- names: another browser (no local storage) sees the name, not the hash
  await page.evaluate(() => localStorage.clear());
  await page.reload();
  await live();
  await rowOf('nightjars.txt').waitFor({ timeout: 10000 });
  check('after a reload with empty storage the name is still shown (the server keeps it)', true);
  check('no 64-hex-digit name is shown in the list', !/[0-9a-f]{64}/.test(await page.textContent('#queue')));

  // ---- open the dossier with the keyboard; its address is #/doc/ID
  await rowOf('nightjars.txt').locator('a.name').focus();
  await page.keyboard.press('Enter');
  await dossierOpen(textId);
  await page.waitForSelector('#dossier h3', { timeout: 10000 });
  const dossier = await page.textContent('#dossier');
  check('Enter on a row opens its dossier at #/doc/ID', (await hash()) === `#/doc/${textId}`, await hash());
  check('the dossier shows its title', (await page.textContent('#dossier h2')).includes('Nightjars'), dossier.slice(0, 200));
  check('the dossier has a summary and tags', dossier.includes('Summary') && dossier.includes('Tags'));
  check('the dossier offers the extracted text', dossier.includes('Text ('));
  check('focus moved to the dossier', await page.evaluate(() => document.activeElement.id === 'dossier'));
  check('the dossier names the uploaded file', (await page.textContent('#dossier .file')).includes('nightjars.txt'));
  await page.screenshot({ path: join(artifacts, 'e2e-dossier.png'), fullPage: true });

  // ---- search replaces the view; Back and Forward
  await page.fill('#q', 'nightjars');
  await page.press('#q', 'Enter');
  await page.waitForSelector('#results-list mark', { timeout: 10000 });
  check('a search has its own address', (await hash()) === '#/search?q=nightjars', await hash());
  const marks = await page.$$eval('#results-list mark', (ms) => ms.map((m) => m.textContent.toLowerCase()));
  check('search results highlight the word', marks.includes('nightjars'), JSON.stringify(marks));
  check('search results replace the dossier instead of stacking above it', await page.isHidden('#dossier'));
  await page.fill('#q', 'zzzznotthere');
  await page.press('#q', 'Enter');
  await page.waitForFunction(() => document.getElementById('results-list').textContent.includes('Nothing matches'));
  check('a search without results says so', true);
  await page.goBack();
  await page.waitForSelector('#results-list mark', { timeout: 10000 });
  check('Back returns to the previous search', (await page.inputValue('#q')) === 'nightjars');
  await page.goBack();
  await dossierOpen(textId);
  check('Back again returns to the dossier', !(await page.isHidden('#dossier')) && await page.isHidden('#results'));
  await page.goForward();
  await page.waitForSelector('#results-list mark', { timeout: 10000 });
  check('Forward goes to the search again', (await hash()) === '#/search?q=nightjars');
  await page.screenshot({ path: join(artifacts, 'e2e-page.png'), fullPage: true });

  // a deep link opened fresh
  await page.goto(url + `/#/doc/${textId}`);
  await dossierOpen(textId);
  check('a deep link #/doc/ID opens that dossier', (await page.textContent('#dossier h2')).includes('Nightjars'));
  await page.goto(url + '/#/search?q=nightjars');
  await page.waitForSelector('#results-list mark', { timeout: 10000 });
  check('a deep link #/search?q= runs that search', (await page.inputValue('#q')) === 'nightjars');
  await live();

  // ---- the originals: a video, a picture, a PDF
  await page.goto(url + '/');
  await live();
  await page.setInputFiles('#file', [join(samples, 'harbour-tour.mp4'), join(samples, 'cafe-receipt.png'), join(samples, 'committee-minutes.pdf')]);
  for (const n of ['harbour-tour.mp4', 'cafe-receipt.png', 'committee-minutes.pdf']) await doneRow(n, 120000);
  check('a video, a picture and a PDF are analysed', true);
  await page.waitForFunction(() => /speech/.test(document.getElementById('resident').textContent), null, { timeout: 10000 })
    .catch(() => {});
  check('the residency strip shows the speech model once loaded', /speech/.test(await page.textContent('#resident')),
    await page.textContent('#resident'));
  await page.reload();
  await live();
  await page.waitForFunction(() => /speech/.test(document.getElementById('resident').textContent), null, { timeout: 5000 })
    .catch(() => {});
  check('…and still after a reload (from /api/models)', /speech/.test(await page.textContent('#resident')));
  for (const n of ['harbour-tour.mp4', 'cafe-receipt.png', 'committee-minutes.pdf']) {
    const ok = await rowOf(n).locator('img.thumb').evaluate((im) => im.complete ? im.naturalWidth > 0
      : new Promise((res) => { im.onload = () => res(im.naturalWidth > 0); im.onerror = () => res(false); })).catch(() => false);
    check(`the list shows a thumbnail of ${n}`, ok);
  }
  const vidId = await idOf('harbour-tour.mp4'), imgId = await idOf('cafe-receipt.png'), pdfId = await idOf('committee-minutes.pdf');

  await page.goto(url + `/#/doc/${vidId}`);
  await dossierOpen(vidId);
  check('a deep-linked dossier names the uploaded file, not its hash', (await page.textContent('#dossier .file')) === 'harbour-tour.mp4',
    await page.textContent('#dossier .file'));
  await page.waitForFunction(() => { const v = document.getElementById('player'); return v && v.readyState >= 1; }, null, { timeout: 15000 });
  check('the video plays in the dossier (metadata loaded)', true);
  const lines = page.locator('.transcript button');
  const nLines = await lines.count();
  check('the transcript lines are buttons', nLines > 0, String(nLines));
  const target = nLines > 1 ? 1 : 0;
  const start = Number(await lines.nth(target).getAttribute('data-start'));
  await lines.nth(target).click();
  await page.waitForFunction((t) => Math.abs(document.getElementById('player').currentTime - t) < 1.5, start, { timeout: 10000 })
    .catch(() => {});
  const at = await page.evaluate(() => document.getElementById('player').currentTime);
  check(`clicking a transcript line seeks the video to it (${start.toFixed(1)} s)`, Math.abs(at - start) < 1.5, `at ${at}`);
  check('the video was fetched with Range requests (206)', ranged.includes(206), JSON.stringify(ranged));
  // downloads: the dossier as subtitles and Markdown
  await page.click('.menu summary');
  const formats = await page.$$eval('.menu a[data-format]', (as) => as.map((a) => a.dataset.format));
  check('the dossier downloads as Markdown, JSON, SRT and VTT', ['md', 'json', 'srt', 'vtt'].every((f) => formats.includes(f)), JSON.stringify(formats));
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('.menu a[data-format="vtt"]')]);
  check('the VTT download is named after the file', dl.suggestedFilename() === 'harbour-tour.vtt', dl.suggestedFilename());
  const vtt = await page.evaluate(async (id) => (await fetch(`/api/documents/${id}/export?format=vtt`)).text(), vidId);
  check('…and is WebVTT', vtt.startsWith('WEBVTT'), vtt.slice(0, 40));
  await page.screenshot({ path: join(artifacts, 'e2e-video.png'), fullPage: true });
  await page.click('.menu summary');

  if (process.env.AUDIO) {
    await page.goto(url + '/');
    await live();
    await page.setInputFiles('#file', process.env.AUDIO);
    await doneRow('harbour-voice.wav', 120000);
    const audId = await idOf('harbour-voice.wav');
    await page.goto(url + `/#/doc/${audId}`);
    await dossierOpen(audId);
    await page.waitForFunction(() => { const a = document.getElementById('player'); return a && a.tagName === 'AUDIO' && a.readyState >= 1; },
      null, { timeout: 15000 });
    check('an audio file gets an audio player', true);
    const al = page.locator('.transcript button');
    const ai = (await al.count()) > 1 ? 1 : 0;
    const as = Number(await al.nth(ai).getAttribute('data-start'));
    await al.nth(ai).click();
    await page.waitForFunction((t) => Math.abs(document.getElementById('player').currentTime - t) < 1.5, as, { timeout: 10000 })
      .catch(() => {});
    const aat = await page.evaluate(() => document.getElementById('player').currentTime);
    check(`clicking a transcript line seeks the audio to it (${as.toFixed(1)} s)`, Math.abs(aat - as) < 1.5, `at ${aat}`);
    await page.screenshot({ path: join(artifacts, 'e2e-audio.png'), fullPage: true });
  } else {
    console.log('# AUDIO not set: the audio player is not tested');
  }

  await page.goto(url + `/#/doc/${imgId}`);
  await dossierOpen(imgId);
  const imgOk = await page.locator('.preview img').evaluate((im) => im.complete ? im.naturalWidth > 0
    : new Promise((res) => { im.onload = () => res(im.naturalWidth > 0); im.onerror = () => res(false); }));
  check('a picture is shown in its dossier', imgOk);
  await page.goto(url + `/#/doc/${pdfId}`);
  await dossierOpen(pdfId);
  const pdfOk = await page.locator('.preview img').evaluate((im) => im.complete ? im.naturalWidth > 0
    : new Promise((res) => { im.onload = () => res(im.naturalWidth > 0); im.onerror = () => res(false); }));
  check('a PDF shows its first page, linked to the browser viewer', pdfOk &&
    (await page.getAttribute('.preview a', 'href')).includes(`/api/documents/${pdfId}/file`));
  await page.screenshot({ path: join(artifacts, 'e2e-pdf.png'), fullPage: true });
  await page.fill('#q', 'harbour');
  await page.press('#q', 'Enter');
  await page.waitForSelector('#results-list li a', { timeout: 10000 });
  const resThumb = await page.locator('#results-list img.thumb').first().evaluate((im) => im.complete ? im.naturalWidth > 0
    : new Promise((res) => { im.onload = () => res(im.naturalWidth > 0); im.onerror = () => res(false); })).catch(() => false);
  check('search results show thumbnails', resThumb);
  check('search results never show a stored copy\'s hash as a name', !/[0-9a-f]{64}/.test(await page.textContent('#results-list')),
    await page.textContent('#results-list'));
  // search filters: in the address, applied by the server, undone by Back
  const allHits = await page.locator('#results-list li').count();
  await page.selectOption('#s-kind', 'video');
  await page.waitForFunction(() => location.hash.includes('kind=video'), null, { timeout: 10000 });
  await page.waitForFunction(() => !document.getElementById('results-list').textContent.includes('Searching'), null, { timeout: 10000 });
  const kinds = await page.evaluate(async () => (await (await fetch('/api/search?q=harbour&kind=video')).json()).results.length);
  check(`the kind filter narrows the search (${allHits} → ${await page.locator('#results-list li').count()})`,
    (await page.locator('#results-list li').count()) === kinds && kinds >= 1 && kinds < allHits);
  check('…to the video', /harbour-tour/.test(await page.textContent('#results-list')));
  await page.fill('#s-taken_since', '2001-01-01');
  await page.dispatchEvent('#s-taken_since', 'change');
  await page.waitForFunction(() => location.hash.includes('taken_since=2001-01-01'), null, { timeout: 10000 });
  await page.waitForFunction(() => /Nothing matches/.test(document.getElementById('results-list').textContent), null, { timeout: 10000 }).catch(() => {});
  check('a capture-date filter without matches says so', /Nothing matches/.test(await page.textContent('#results-list')));
  await page.fill('#s-taken_since', '');
  await page.dispatchEvent('#s-taken_since', 'change');
  await page.selectOption('#s-status', 'failed');
  await page.waitForFunction(() => location.hash.includes('status=failed'), null, { timeout: 10000 });
  await page.waitForFunction(() => /Nothing matches/.test(document.getElementById('results-list').textContent), null, { timeout: 10000 }).catch(() => {});
  check('the status filter narrows the search too (no failed video)', /Nothing matches/.test(await page.textContent('#results-list')));
  await page.selectOption('#s-status', '');
  await page.fill('#s-parent', '999999');
  await page.dispatchEvent('#s-parent', 'change');
  await page.waitForFunction(() => location.hash.includes('parent=999999'), null, { timeout: 10000 });
  await page.waitForFunction(() => /Nothing matches/.test(document.getElementById('results-list').textContent), null, { timeout: 10000 }).catch(() => {});
  check('the parent filter narrows the search (nothing inside an unknown document)', /Nothing matches/.test(await page.textContent('#results-list')));
  await page.fill('#s-parent', '');
  await page.dispatchEvent('#s-parent', 'change');
  for (let i = 0; i < 7 && (await page.evaluate(() => location.hash.includes('kind='))); i++) await page.goBack();
  await page.waitForFunction(() => !location.hash.includes('kind='), null, { timeout: 10000 });
  await page.waitForFunction((n) => document.querySelectorAll('#results-list li').length === n, allHits, { timeout: 10000 }).catch(() => {});
  check('Back undoes the filters', (await page.locator('#results-list li').count()) === allHits && (await page.inputValue('#s-kind')) === '');

  // ---- words for people: labels and progress (the events' contract)
  await page.goto(url + '/');
  await live();
  await page.evaluate((id) => {
    handlers.step_started({ document: id, step: 'transcribe', label: 'recognising speech', lane: 'cpu1' });
    handlers.step_progress({ document: id, step: 'transcribe', label: 'recognising speech', done: 12, total: 40, unit: 's' });
  }, vidId);
  const prog = await rowOf('harbour-tour.mp4').locator('progress').evaluate((p) => [p.value, p.max]).catch(() => null);
  check('a step_progress event shows a progress bar on the document', prog && prog[0] === 12 && prog[1] === 40, JSON.stringify(prog));
  const stepT = await rowOf('harbour-tour.mp4').textContent();
  check('…with the step\'s label and the amount in words', /Recognising speech…/.test(stepT) && /12 of 40 seconds/.test(stepT), stepT);
  await page.screenshot({ path: join(artifacts, 'e2e-progress.png') });
  await page.evaluate((id) => handlers.step_finished({ document: id, step: 'transcribe', ok: true, seconds: 3.2 }), vidId);
  check('the bar goes when the step finishes', await rowOf('harbour-tour.mp4').locator('progress').count() === 0);

  // ---- filters, sort and paging (60 more documents through the API)
  const base = await page.evaluate(() => list.total);
  check(`with ${base} documents there is no pager`, base < 50 && await page.isHidden('#pager'));
  await page.evaluate(async () => {
    for (let i = 0; i < 60; i++) {
      await fetch('/api/documents', { method: 'POST', headers: { 'X-Filename': `note-${String(i).padStart(2, '0')}.txt` },
        body: `Field note ${i}: a curlew and ${i} lapwings on the marsh.` });
    }
  });
  await page.reload();
  await live();
  await page.waitForFunction(() => !document.getElementById('pager').hidden, null, { timeout: 10000 });
  check(`with ${base + 60} documents the list shows one page of 50`, await page.locator('#queue li').count() === 50);
  check('…says which', (await page.textContent('#page-text')) === `1–50 of ${base + 60}`, await page.textContent('#page-text'));
  check('…newest first', /note-59/.test(await page.locator('#queue li').first().textContent()));
  await page.click('#next');
  await page.waitForFunction((n) => document.querySelectorAll('#queue li').length === n, base + 10, { timeout: 10000 });
  check(`the next page holds the other ${base + 10}`, /nightjars/.test(await page.textContent('#queue')));
  await page.selectOption('#f-sort', 'old');
  await page.waitForFunction(() => document.querySelectorAll('#queue li').length === 50, null, { timeout: 10000 });
  check('oldest first starts with the first upload', /nightjars/.test(await page.locator('#queue li').first().textContent()));
  await page.selectOption('#f-kind', 'image');
  await page.waitForFunction(() => document.querySelectorAll('#queue li').length === 1, null, { timeout: 10000 });
  check('the kind filter shows only the picture', /cafe-receipt/.test(await page.textContent('#queue')));
  await page.selectOption('#f-kind', '');
  await page.selectOption('#f-status', 'failed');
  await page.waitForFunction(() => !document.getElementById('queue-empty').hidden, null, { timeout: 10000 });
  check('a status filter without matches says so', /match/.test(await page.textContent('#queue-empty')));
  await page.selectOption('#f-status', '');
  // sort by size and by name: the first row is the largest / first by name of all documents
  const all = await page.evaluate(async () => (await (await fetch('/api/documents?limit=1000')).json()).documents);
  const largest = all.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const firstByName = all.map((d) => d.name).sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : a.toLowerCase() > b.toLowerCase() ? 1 : 0))[0];
  await page.selectOption('#f-sort', '-size');
  await page.waitForFunction((n) => (document.querySelector('#queue li') || {}).textContent?.includes(n), largest.name, { timeout: 10000 }).catch(() => {});
  check(`largest first starts with ${largest.name}`, (await page.locator('#queue li').first().textContent()).includes(largest.name));
  await page.selectOption('#f-sort', 'name');
  await page.waitForFunction((n) => (document.querySelector('#queue li') || {}).textContent?.includes(n), firstByName, { timeout: 10000 }).catch(() => {});
  check(`name order starts with ${firstByName}`, (await page.locator('#queue li').first().textContent()).includes(firstByName));
  check('…and pages as the server orders', (await page.textContent('#next')) === 'Next →');
  await page.selectOption('#f-sort', 'new');
  await page.waitForFunction(() => document.querySelectorAll('#queue li').length === 50, null, { timeout: 10000 });

  // ---- keyboard
  await page.reload();
  await live();
  await page.keyboard.press('Tab');
  check('Tab reaches the skip link first', await page.evaluate(() => document.activeElement.className === 'skip'));
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  check('then (past the home link) the search box', await page.evaluate(() => document.activeElement.id === 'q'));
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  check('the focused element shows a visible outline', outline !== 'none', outline);
  await page.locator('#queue li a.name').first().focus();
  await page.keyboard.press('/');
  check('/ jumps to the search box', await page.evaluate(() => document.activeElement.id === 'q'));
  await page.locator('#queue li', { hasText: 'nightjars' }).count(); // (on page 2)
  await page.goto(url + `/#/doc/${pdfId}`);
  await dossierOpen(pdfId);
  await page.keyboard.press('Escape');
  check('Escape closes the dossier (back to the list)', (await hash()) === '#/');

  // ---- analyse again, with confirmation
  await page.goto(url + `/#/doc/${textId}`);
  await dossierOpen(textId);
  let asked = '';
  page.once('dialog', (dlg) => { asked = dlg.message(); dlg.dismiss(); });
  await page.click('#reanalyze');
  await page.waitForTimeout(200);
  check('Analyse again asks first', asked.includes('again'), asked);
  page.once('dialog', (dlg) => dlg.accept());
  await page.click('#reanalyze');
  await page.waitForFunction(() => document.getElementById('uploads').textContent.includes('again ('), null, { timeout: 10000 });
  check('confirming queues it again and says so', (await page.textContent('#uploads')).includes('Analysing'));
  const again = await page.evaluate(async (id) => {
    for (let i = 0; i < 100; i++) {
      const d = await (await fetch('/api/documents/' + id)).json();
      if (d.status === 'done') return d;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  }, textId);
  check('…and it is analysed again and done', again && again.status === 'done', JSON.stringify(again && again.status));

  // ---- delete, with confirmation
  await page.goto(url + `/#/doc/${pdfId}`);
  await dossierOpen(pdfId);
  await page.click('#delete');
  check('Delete asks first', await page.evaluate(() => document.getElementById('confirm').open));
  await page.keyboard.press('Escape');
  check('Escape in the question keeps the document', !(await page.evaluate(() => document.getElementById('confirm').open)) &&
    (await hash()) === `#/doc/${pdfId}`);
  await page.click('#delete');
  deletedId = pdfId;
  await page.click('#confirm-delete');
  await page.waitForFunction(() => location.hash === '#/', null, { timeout: 10000 });
  const gone = await page.evaluate(async (id) => (await fetch('/api/documents/' + id)).status, pdfId);
  check('confirming deletes it on the server (404 after)', gone === 404, String(gone));
  check('…and it leaves the list', await page.evaluate((id) => !document.querySelector(`#queue li[data-id="${id}"]`), pdfId));

  // ---- dark
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(url + `/#/doc/${vidId}`);
  await dossierOpen(vidId);
  const bg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  const lum = (bg.match(/\d+/g) || [255, 255, 255]).slice(0, 3).reduce((a, b) => a + Number(b), 0) / 3;
  check('the page is dark when the system is', lum < 60, bg);
  await page.screenshot({ path: join(artifacts, 'e2e-dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });

  // ---- a narrow window: one column, nothing wider than the screen
  await page.setViewportSize({ width: 380, height: 800 });
  await page.goto(url + '/');
  await live();
  await page.waitForTimeout(200);
  check('380 px: the list does not scroll sideways', await overflow() <= 0, `${await overflow()}px too wide`);
  check('380 px: the filters are there', await page.isVisible('#f-kind'));
  await page.screenshot({ path: join(artifacts, 'e2e-narrow.png'), fullPage: true });
  await page.locator('#queue li a.name').first().click();
  await page.waitForFunction(() => document.getElementById('dossier').dataset.id, null, { timeout: 10000 });
  check('380 px: a dossier replaces the list', await page.isHidden('#left') && await page.isVisible('#back'));
  await page.goBack();
  await page.waitForFunction(() => location.hash === '#/' || location.hash === '', null, { timeout: 5000 });
  check('380 px: Back shows the list again', await page.isVisible('#queue'));
  await page.goto(url + `/#/doc/${vidId}`);
  await dossierOpen(vidId);
  await page.waitForTimeout(300);
  check('380 px: the video dossier does not scroll sideways', await overflow() <= 0, `${await overflow()}px too wide`);
  check('380 px: the player and the delete button are there', await page.isVisible('#player') && await page.isVisible('#delete'));
  await page.screenshot({ path: join(artifacts, 'e2e-narrow-dossier.png'), fullPage: true });
  await page.goto(url + '/#/search?q=harbour');
  await page.waitForSelector('#results-list li a', { timeout: 10000 });
  check('380 px: search results do not scroll sideways', await overflow() <= 0, `${await overflow()}px too wide`);
  await page.screenshot({ path: join(artifacts, 'e2e-narrow-search.png'), fullPage: true });

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
