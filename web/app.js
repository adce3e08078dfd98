// dossier's page: uploads, the documents (a page of them at a time, filtered
// and sorted by the server), the live queue (Server-Sent Events), the models
// and memory strip, dossiers with the original beside them, and search.
// Every document and every search has its own address (#/doc/5,
// #/search?q=words): Back and Forward work. Plain JavaScript, no build step,
// no CDN. Untrusted text is only ever put in the page as text nodes, never as
// HTML.
'use strict';

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
const PAGE = 50;                 // rows per page of the list
const docs = new Map();          // id -> {rec, step, progress}: what events told us
const rows = new Map();          // id -> <li> of the rows on the current page
let selected = 0;                // id of the dossier shown (0 = none)
let memoryBudget = 0;
let lastResident = [];
let speech = null;               // the speech model once loaded: {model, role: 'asr', bytes}
const list = { kind: '', status: '', sort: 'new', page: 0, total: null, seq: 0, shown: 0 };

// ---------------------------------------------------------------- helpers

function $(id) { return document.getElementById(id); }

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function withToken(url) {
  if (!token) return url;
  return url + (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
}

async function api(path, opts = {}) {
  const headers = Object.assign({}, opts.headers || {});
  if (token) headers['Authorization'] = 'Bearer ' + token;
  const r = await fetch(path, Object.assign({}, opts, { headers }));
  if (r.status === 204) return null;
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) {
    const err = new Error((body && body.error) || (r.status + ' ' + r.statusText));
    err.status = r.status;
    throw err;
  }
  return body;
}

function bytes(n) {
  if (!n) return '0 B';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < u.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : n) + ' ' + u[i];
}

function clock(s) {
  s = Math.max(0, s || 0);
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = (s % 60).toFixed(1);
  const mm = String(m).padStart(2, '0'), ss = sec.padStart(4, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function count(n) { return Number(n).toLocaleString('en'); }

function baseName(p) { return (p || '').split('/').pop(); }

// The name a document is known by: the file name it was uploaded with (the
// server keeps it), else its file's name; never the stored copy's hash
// (<sha256>.ext, all a search hit or an old upload may carry).
const HASHED = /^[0-9a-f]{64}(\.[a-z0-9]{1,8})?$/;
function fileName(rec) {
  const n = rec.name || baseName(rec.path);
  return n && !HASHED.test(n) ? n : '';
}
function displayName(rec) { return rec.title || fileName(rec) || ('document ' + rec.id); }

// "[word]" in a search snippet marks a match: text nodes and <mark>s.
function highlighted(snippet) {
  const out = [];
  const re = /\[([^\]]*)\]/g;
  let last = 0, m;
  while ((m = re.exec(snippet))) {
    if (m.index > last) out.push(snippet.slice(last, m.index));
    out.push(el('mark', null, m[1]));
    last = re.lastIndex;
  }
  if (last < snippet.length) out.push(snippet.slice(last));
  return out;
}

// ------------------------------------------------------ words for people

// What a step does, in words; the server's label when it sends one.
const STEP_WORDS = {
  extract_text: 'reading the text',
  analyze_text: 'summarising the text',
  ocr: 'reading the text in the picture',
  describe_image: 'describing the picture',
  transcribe: 'recognising speech',
  sample_frames: 'picking frames from the video',
  describe_frames: 'describing the frames',
  synthesize: 'writing the summary',
};
function stepWords(e) {
  const w = e.label || STEP_WORDS[e.step] || String(e.step || '').replace(/_/g, ' ');
  return w.charAt(0).toUpperCase() + w.slice(1);
}
const UNIT_WORDS = { s: 'seconds', seconds: 'seconds', pages: 'pages', frames: 'frames', chunks: 'parts' };

const KIND_ICON = { text: 'TXT', pdf: 'PDF', image: 'IMG', audio: '♪', video: '▶', office: 'DOC', epub: 'EPUB',
  rtf: 'RTF', mail: '✉', table: 'TAB', unsupported: '?' };

// A thumbnail for kinds that have one (the video's once its frames exist),
// else a tile with the kind; a thumbnail that fails to load becomes the tile.
function thumb(rec) {
  const kind = rec.kind || guessKind(rec.path || rec.name || '');
  const tile = () => el('span', { class: 'thumb tile', 'aria-hidden': 'true' }, KIND_ICON[kind] || '·');
  const final = rec.status === 'done' || rec.status === 'partial';
  const has = !rec.missing_since && ((kind === 'image' || kind === 'pdf') && rec.status !== 'failed' &&
    rec.status !== 'unsupported' || kind === 'video' && final);
  if (!has) return tile();
  const img = el('img', { class: 'thumb', alt: '', loading: 'lazy', width: 48, height: 48,
    src: withToken(`/api/documents/${rec.id}/thumbnail`) });
  // a busy server answers 503 while it makes others: try again, then give up
  let tries = 0;
  img.addEventListener('error', () => {
    if (++tries > 8 || !img.isConnected) { img.replaceWith(tile()); return; }
    setTimeout(() => { img.src = withToken(`/api/documents/${rec.id}/thumbnail?try=${tries}`); }, Math.min(3000, 700 * tries));
  });
  return img;
}
function guessKind(name) {
  const ext = (name.match(/\.([a-z0-9]+)$/i) || [])[1];
  if (!ext) return '';
  const e = ext.toLowerCase();
  if (['png', 'jpg', 'jpeg', 'gif', 'webp', 'bmp', 'tif', 'tiff'].includes(e)) return 'image';
  if (['mp4', 'mkv', 'webm', 'mov', 'avi'].includes(e)) return 'video';
  if (['mp3', 'wav', 'ogg', 'flac', 'm4a', 'opus'].includes(e)) return 'audio';
  if (e === 'pdf') return 'pdf';
  return 'text';
}

// ------------------------------------------------------------------ list

function stepText(d) {
  const r = d.rec;
  if (d.step) return d.step;
  if (r.status === 'queued') return 'Waiting its turn';
  if (r.status === 'unsupported' || r.status === 'failed' || r.status === 'encrypted') return r.error || '';
  if (r.missing_since) return 'The file is gone from its folder';
  return '';
}

function progressOf(d) {
  const p = d.progress;
  if (!p || !p.total) return null;
  const unit = UNIT_WORDS[p.unit] || p.unit || '';
  const fmt = (n) => (Number.isInteger(n) ? count(n) : n.toFixed(0));
  return el('div', { class: 'progress' },
    el('progress', { max: p.total, value: Math.min(p.done, p.total), 'aria-label': stepWords(p) + ' of ' + displayName(d.rec) }),
    el('span', null, `${fmt(p.done)} of ${fmt(p.total)} ${unit}`));
}

function shortDate(t) {
  const d = new Date(t);
  if (isNaN(d)) return '';
  const sameYear = d.getFullYear() === new Date().getFullYear();
  return d.toLocaleDateString('en-GB', sameYear ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' });
}

// A row: the file's name (as uploaded), the dossier's title once known, the
// kind, size and date, or what is happening to it now.
function renderRow(id) {
  const d = docs.get(id);
  if (!d) return null;
  const r = d.rec;
  const name = fileName(r) || displayName(r);
  const now = stepText(d);
  const facts = now ? [r.kind, now] : [r.kind, r.bytes ? bytes(r.bytes) : '', r.updated_at ? shortDate(r.updated_at) : ''];
  const li = el('li', { 'data-id': id, class: id === selected ? 'selected' : '' },
    thumb(r),
    el('div', { class: 'what' },
      el('a', { class: 'name', href: '#/doc/' + id }, name),
      r.title && r.title !== name ? el('span', { class: 'title' }, r.title) : null,
      el('span', { class: 'step' }, facts.filter(Boolean).join(' · ')),
      progressOf(d)),
    el('span', { class: 'badge ' + (r.status || '') }, r.status || ''));
  const old = rows.get(id);
  if (old) old.replaceWith(li);
  rows.set(id, li);
  return li;
}

function matchesList(rec) {
  return (!list.kind || rec.kind === list.kind) && (!list.status || rec.status === list.status);
}

const FINAL = new Set(['done', 'partial', 'failed', 'encrypted', 'unsupported']);

// weak: a snapshot (an upload's reply, a listing) that may be older than the
// events already received; it never turns a finished document back to queued.
function upsertDoc(rec, weak) {
  const known = docs.has(rec.id);
  const d = docs.get(rec.id) || { rec: {}, step: '' };
  if (weak && FINAL.has(d.rec.status) && !FINAL.has(rec.status)) {
    rec = Object.assign({}, rec);
    delete rec.status;
  }
  d.rec = Object.assign({}, d.rec, rec);
  docs.set(rec.id, d);
  if (rows.has(rec.id)) { renderRow(rec.id); return; }
  // a new document: shown at once where the list would have it
  if (!known && d.rec.status && matchesList(d.rec)) addToList(rec.id);
}

// The list's orders: newest/oldest first follow the queue live; the others
// are the server's order (GET /api/documents?sort=), refreshed on paging.
const SORTS = new Set(['new', 'old', 'name', '-size', '-modified']);
const byServer = () => list.sort !== 'new' && list.sort !== 'old';

function addToList(id) {
  if (list.total === null) return;
  list.total++;
  if (byServer()) { renderListMeta(); return; }
  const ul = $('queue');
  const onNewest = list.sort === 'new' && list.page === 0;
  const onOldestEnd = list.sort === 'old' && rows.size < PAGE && (list.page + 1) * PAGE >= list.total;
  if (onNewest || onOldestEnd) {
    const li = renderRow(id);
    if (onNewest) ul.prepend(li); else ul.append(li);
    while (rows.size > PAGE) {
      const last = ul.lastElementChild;
      rows.delete(Number(last.dataset.id));
      last.remove();
    }
  }
  renderListMeta();
}

function removeFromList(id) {
  const li = rows.get(id);
  if (li) { li.remove(); rows.delete(id); }
  if (list.total) list.total--;
  renderListMeta();
}

function renderListMeta() {
  const total = list.total || 0;
  $('total').textContent = list.total === null ? '' : `(${count(total)})`;
  const filtered = list.kind || list.status;
  $('queue-empty').hidden = rows.size > 0;
  $('queue-empty').textContent = filtered ? 'No documents match these filters.' : 'No documents yet.';
  const pages = Math.max(1, Math.ceil(total / PAGE));
  $('pager').hidden = total <= PAGE;
  const first = list.page * PAGE + 1, last = Math.min(total, (list.page + 1) * PAGE);
  $('page-text').textContent = `${count(first)}–${count(last)} of ${count(total)}`;
  $('prev').disabled = list.page === 0;
  $('next').disabled = list.page >= pages - 1;
  $('prev').textContent = byServer() ? '← Previous' : list.sort === 'new' ? '← Newer' : '← Older';
  $('next').textContent = byServer() ? 'Next →' : list.sort === 'new' ? 'Older →' : 'Newer →';
}

// One page of the list from the server (limit/offset): never more than PAGE
// rows in the page, however many documents there are. Newest first is the
// server's oldest-first order read from the end.
async function loadList() {
  const seq = ++list.seq;
  const filt = (list.kind ? '&kind=' + encodeURIComponent(list.kind) : '') +
    (list.status ? '&status=' + encodeURIComponent(list.status) : '');
  let r;
  for (let attempt = 0; attempt < 3; attempt++) {
    let offset = list.page * PAGE, limit = PAGE;
    if (list.sort === 'new') {
      if (list.total === null) { offset = 0; limit = 1; } else {
        const end = list.total - list.page * PAGE;
        offset = Math.max(0, end - PAGE);
        limit = Math.max(1, end - offset);
      }
    }
    const order = byServer() ? '&sort=' + encodeURIComponent(list.sort) : '';
    r = await api(`/api/documents?limit=${limit}&offset=${offset}${filt}${order}`);
    if (seq !== list.seq) return;
    const changed = r.total !== list.total;
    list.total = r.total;
    const pages = Math.max(1, Math.ceil(list.total / PAGE));
    if (list.page >= pages) { list.page = pages - 1; continue; }
    if (list.sort !== 'new' || !changed) break;
  }
  const recs = list.sort === 'new' ? r.documents.slice().reverse() : r.documents;
  rows.clear();
  const items = [];
  for (const rec of recs) {
    upsertDocQuiet(rec);
    items.push(renderRow(rec.id));
  }
  $('queue').replaceChildren(...items);
  renderListMeta();
}

function upsertDocQuiet(rec) {
  const d = docs.get(rec.id) || { rec: {}, step: '' };
  if (FINAL.has(d.rec.status) && !FINAL.has(rec.status)) { rec = Object.assign({}, rec); delete rec.status; }
  d.rec = Object.assign({}, d.rec, rec);
  docs.set(rec.id, d);
}

function setupList() {
  try {
    const saved = JSON.parse(localStorage.getItem('dossier.list') || '{}');
    if (SORTS.has(saved.sort)) list.sort = saved.sort;
  } catch (e) { /* private mode */ }
  $('f-sort').value = list.sort;
  const changed = () => {
    list.kind = $('f-kind').value;
    list.status = $('f-status').value;
    list.sort = $('f-sort').value;
    list.page = 0;
    list.total = null;
    try { localStorage.setItem('dossier.list', JSON.stringify({ sort: list.sort })); } catch (e) { /* private */ }
    loadList().catch(listFailed);
  };
  $('filters').addEventListener('change', changed);
  $('filters').addEventListener('submit', (e) => e.preventDefault());
  $('prev').addEventListener('click', () => { if (list.page > 0) { list.page--; loadList().catch(listFailed); } });
  $('next').addEventListener('click', () => { list.page++; loadList().catch(listFailed); });
}

function listFailed(e) { $('queue-empty').hidden = false; $('queue-empty').textContent = 'Cannot list documents: ' + e.message; }

// ----------------------------------------------------------------- uploads

function upload(file) {
  const item = el('li', null, file.name + ' ', el('progress', { max: 1, value: 0, 'aria-label': 'upload of ' + file.name }));
  $('uploads').prepend(item);
  const bar = item.querySelector('progress');
  const form = new FormData();
  form.append('file', file, file.name);
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/api/documents');
  if (token) xhr.setRequestHeader('Authorization', 'Bearer ' + token);
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
  xhr.onload = () => {
    let body = {};
    try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
    if (xhr.status === 200 || xhr.status === 201 || xhr.status === 415) {
      upsertDoc(body, true);
      const link = el('a', { href: '#/doc/' + body.id }, file.name);
      item.replaceChildren(link, ': ' + (xhr.status === 200 ? 'already here' :
        xhr.status === 415 ? 'not a supported kind of file (recorded)' : 'uploaded, queued for analysis'));
      if (xhr.status === 415) item.className = 'bad';
    } else {
      item.className = 'bad';
      item.replaceChildren(file.name + ': ' + (body.error || ('upload failed (' + xhr.status + ')')));
    }
  };
  xhr.onerror = () => { item.className = 'bad'; item.replaceChildren(file.name + ': the server could not be reached'); };
  xhr.send(form);
}

function setupUploads() {
  const drop = $('drop'), input = $('file');
  $('pick').addEventListener('click', () => input.click());
  input.addEventListener('change', () => { for (const f of input.files) upload(f); input.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    for (const f of e.dataTransfer.files) upload(f);
  });
  // dropping anywhere on the page uploads too, instead of navigating away
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => {
    if (drop.contains(e.target)) return;
    e.preventDefault();
    for (const f of e.dataTransfer.files) upload(f);
  });
}

// ----------------------------------------------------------------- dossier

function section(title, ...content) {
  return [el('h3', null, title), ...content];
}

const fileUrl = (id, extra = '') => withToken(`/api/documents/${id}/file${extra}`);
const exportUrl = (id, f) => withToken(`/api/documents/${id}/export?format=${f}`);

function actions(d) {
  const hasTranscript = d.transcript && d.transcript.segments && d.transcript.segments.length;
  const formats = [['md', 'Markdown (.md)'], ['json', 'JSON (.json)']];
  if (hasTranscript) formats.push(['srt', 'subtitles (.srt)'], ['vtt', 'subtitles (.vtt)']);
  const menu = el('details', { class: 'menu' }, el('summary', { class: 'button secondary' }, 'Download'),
    el('ul', null,
      el('li', null, el('a', { href: fileUrl(d.id, '?download=1'), download: '' }, 'The original file')),
      d.dossier_version ? formats.map(([f, label]) =>
        el('li', null, el('a', { href: exportUrl(d.id, f), download: '', 'data-format': f }, 'The dossier as ' + label))) : null));
  return el('div', { class: 'actions' },
    el('a', { class: 'button secondary', href: fileUrl(d.id), target: '_blank', rel: 'noopener' }, 'Open the original'),
    menu,
    el('button', { type: 'button', class: 'secondary', id: 'reanalyze', onclick: () => reanalyze(d) }, 'Analyse again…'),
    el('button', { type: 'button', class: 'danger', id: 'delete', onclick: () => confirmDelete(d) }, 'Delete…'));
}

// Asks the configured models again (the server's POST .../reanalyze); the
// dossier shown stays until the new one is made.
async function reanalyze(d) {
  const name = d.title || d.name || baseName(d.path);
  if (!window.confirm(`Analyse “${name}” again with the configured models? The dossier shown stays until the new one is ready.`)) return;
  try {
    const r = await api('/api/documents/' + d.id + '/reanalyze', { method: 'POST' });
    say(`Analysing “${name}” again (${r.steps} step${r.steps === 1 ? '' : 's'}).`);
  } catch (e) {
    say('Not analysed again: ' + e.message);
  }
}

// The original beside its dossier: the picture, the first page of a PDF, or
// a player whose transcript lines seek when clicked.
function preview(d) {
  const kind = d.kind;
  if (kind === 'image')
    return el('figure', { class: 'preview' }, el('img', { src: fileUrl(d.id), alt: d.image && d.image.description || displayName(d) }));
  if (kind === 'pdf')
    return el('figure', { class: 'preview pdf' },
      el('a', { href: fileUrl(d.id), target: '_blank', rel: 'noopener' },
        el('img', { src: withToken(`/api/documents/${d.id}/thumbnail`), alt: 'the first page' })),
      el('figcaption', null, el('a', { href: fileUrl(d.id), target: '_blank', rel: 'noopener' }, 'Open the PDF in the browser’s viewer')));
  if (kind === 'video' || kind === 'audio') {
    const m = el(kind, { id: 'player', controls: true, preload: 'metadata', src: fileUrl(d.id) });
    if (kind === 'video' && d.frames && d.frames.length) m.setAttribute('poster', withToken(`/api/documents/${d.id}/thumbnail`));
    return el('figure', { class: 'preview ' + kind }, m);
  }
  return null;
}

function seek(t) {
  const m = $('player');
  if (!m) return;
  m.currentTime = t;
  const p = m.play();
  if (p && p.catch) p.catch(() => { /* autoplay refused: the position is set */ });
}

function followPlayer() {
  const m = $('player');
  if (!m) return;
  m.addEventListener('timeupdate', () => {
    let cur = null;
    for (const b of document.querySelectorAll('.transcript button')) {
      if (Number(b.dataset.start) <= m.currentTime + 0.05) cur = b;
      b.removeAttribute('aria-current');
    }
    if (cur) cur.setAttribute('aria-current', 'true');
  });
}

function renderDossier(d) {
  const box = $('dossier');
  const parts = [];
  const rec = (docs.get(d.id) || {}).rec || {};
  const name = fileName({ name: d.name || rec.name, path: d.path });
  const title = d.title || name || 'document ' + d.id;
  parts.push(el('h2', { id: 'dossier-title' }, title));
  if (name && name !== title) parts.push(el('p', { class: 'file' }, name));
  parts.push(el('p', { class: 'meta' },
    [d.kind, d.mime, bytes(d.bytes), d.document_status || d.status, d.language].filter(Boolean).join(' · ')));
  parts.push(actions(d));
  const pv = preview(d);
  if (pv) parts.push(pv);
  if (!d.dossier_version) {
    const live = docs.get(d.id);
    parts.push(el('p', { class: 'note' }, 'Not analysed yet: ' + (live && live.step ? live.step : d.status) + '.'));
    if (d.steps) parts.push(el('ul', null, d.steps.map((s) => el('li', null, `${stepWords(s)}: ${s.state}`))));
    if (d.error) parts.push(el('p', { class: 'errors' }, d.error));
    box.replaceChildren(...parts);
    followPlayer();
    return;
  }
  if (d.errors && d.errors.length)
    parts.push(...section('Problems', el('ul', { class: 'errors' }, d.errors.map((e) => el('li', null, `${stepWords(e)}: ${e.message}`)))));
  if (d.summary) parts.push(...section('Summary', el('p', null, d.summary)));
  if (d.key_points && d.key_points.length)
    parts.push(...section('Key points', el('ul', null, d.key_points.map((k) => el('li', null, k)))));
  if (d.tags && d.tags.length)
    parts.push(...section('Tags', el('ul', { class: 'tags' }, d.tags.map((t) => el('li', { class: 'chip' }, t)))));
  if (d.entities && d.entities.length)
    parts.push(...section('Entities', el('ul', { class: 'tags' },
      d.entities.map((e) => el('li', { class: 'chip' }, e.text + (e.type ? ' (' + e.type + ')' : ''))))));
  if (d.image) {
    const im = d.image;
    if (im.description) parts.push(...section('Description', el('p', null, im.description)));
    const ocr = (im.ocr && im.ocr.text) || im.text_in_image;
    if (ocr) parts.push(...section('Text in the picture (OCR)', el('div', { class: 'text' }, ocr)));
  }
  if (d.transcript && d.transcript.segments && d.transcript.segments.length) {
    const player = d.kind === 'video' || d.kind === 'audio';
    const lines = d.transcript.segments.map((s) => {
      const low = typeof s.confidence === 'number' && s.confidence < 0.5;
      const line = [el('time', { datetime: 'PT' + (s.start || 0).toFixed(1) + 'S' }, clock(s.start)), el('span', null, s.text)];
      return el('li', { class: low ? 'low' : null, title: low ? 'the recogniser was unsure of this line' : null },
        player ? el('button', { type: 'button', 'data-start': s.start || 0, onclick: () => seek(s.start || 0),
          'aria-label': `Play from ${clock(s.start)}: ${s.text}` }, line) : line);
    });
    parts.push(...section('Transcript', player ? el('p', { class: 'note' }, 'Click a line to play from there.') : null,
      el('ol', { class: 'transcript' }, lines)));
  }
  if (d.frames && d.frames.length) {
    const figs = d.frames.map((f, i) => {
      const img = el('img', {
        src: withToken(`/api/documents/${d.id}/frames/${i}`), loading: 'lazy', width: f.width, height: f.height,
        alt: f.description || ('frame at ' + clock(f.time)),
      });
      const caption = el('figcaption', null,
        el('button', { type: 'button', class: 'link', onclick: () => seek(f.time || 0) }, clock(f.time)), ' ',
        f.description || f.ocr_text || '');
      return el('li', null, el('figure', null, img, caption));
    });
    parts.push(...section('Frames', el('ul', { class: 'frames' }, figs)));
  }
  if (d.text) {
    const label = d.kind === 'image' || (d.sources && d.sources.text === 'tesseract') ? 'Text (OCR)' : 'Text';
    parts.push(el('details', null, el('summary', null, label + ` (${d.word_count || d.text.split(/\s+/).length} words)`), el('div', { class: 'text' }, d.text)));
  }
  if (d.sources) {
    parts.push(el('details', { class: 'sources' }, el('summary', null, 'Sources'),
      el('ul', null, Object.entries(d.sources).map(([k, v]) => el('li', null, `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)))));
  }
  box.replaceChildren(...parts);
  followPlayer();
}

async function openDossier(id, focus = true) {
  const box = $('dossier');
  try {
    const d = await api('/api/documents/' + id);
    if (selected !== id) return; // the reader went elsewhere meanwhile
    // a re-render keeps the player where it was
    const m = $('player'), at = m && Number(box.dataset.id) === id ? m.currentTime : 0;
    box.dataset.id = id;
    renderDossier(d);
    if (at && $('player')) $('player').currentTime = at;
    if (focus) box.focus();
  } catch (e) {
    if (selected !== id) return;
    box.dataset.id = '';
    box.replaceChildren(el('h2', null, e.status === 404 ? 'No such document' : 'Cannot show the document'),
      el('p', { class: 'errors' }, e.message), el('p', null, el('a', { href: '#/' }, 'All documents')));
    if (focus) box.focus();
  }
}

// ------------------------------------------------------------------ delete

function confirmDelete(d) {
  const dlg = $('confirm');
  const name = d.title || d.name || baseName(d.path);
  $('confirm-text').textContent = `“${name}”: its dossier goes, and the uploaded copy if it came through ` +
    'this page. A file analysed from a folder stays where it is.';
  dlg.returnValue = '';
  dlg.onclose = async () => {
    if (dlg.returnValue !== 'delete') { $('delete') && $('delete').focus(); return; }
    try {
      await api('/api/documents/' + d.id, { method: 'DELETE' });
      forget(d.id);
      location.replace('#/');
      say(`Deleted “${name}”.`);
    } catch (e) {
      if (e.status === 404) { forget(d.id); location.replace('#/'); say(`“${name}” was deleted already.`); } else say('Not deleted: ' + e.message);
    }
  };
  dlg.showModal();
}

function forget(id) {
  if (docs.has(id) || rows.has(id)) removeFromList(id);
  docs.delete(id);
}

function say(text) {
  const p = el('li', { class: 'said' }, text);
  $('uploads').prepend(p);
}

// ------------------------------------------------------------------ search

// The search's filters (GET /api/search takes the same words); they live in
// the URL, #/search?q=WORDS&kind=pdf&taken_since=2024-07-01, so a filtered
// search has its own address and Back undoes a filter.
const SEARCH_FILTERS = ['kind', 'status', 'since', 'until', 'taken_since', 'taken_until', 'tag', 'lang', 'parent'];

function searchHash(q, f) {
  const p = new URLSearchParams({ q });
  for (const k of SEARCH_FILTERS) if (f[k]) p.set(k, f[k]);
  return '#/search?' + p.toString();
}

function setupSearchFilters() {
  for (const k of ['kind', 'status'])
    $('s-' + k).replaceChildren(...[...$('f-' + k).options].map((o) => el('option', { value: o.value }, o.textContent)));
  $('search-filters').addEventListener('change', () => {
    const f = {};
    for (const k of SEARCH_FILTERS) f[k] = $('s-' + k).value.trim();
    go(searchHash(route().q || $('q').value, f));
  });
  $('search-filters').addEventListener('submit', (e) => e.preventDefault());
}


// Where a chunk that matched by meaning is: "page 3", "0:12–0:25 of the recording", "the text".
function chunkPlace(c) {
  const t = (s) => Math.floor(s / 60) + ':' + String(Math.floor(s % 60)).padStart(2, '0');
  if (c.start != null) return `${t(c.start)}–${t(c.end)} of the recording`;
  if (c.page != null) return `page ${c.page}` + (c.source === 'ocr' ? ' (read by OCR)' : '');
  return c.source === 'ocr' ? 'the text read by OCR' : 'the text';
}


async function search(q, f = {}) {
  const box = $('results'), ol = $('results-list');
  box.hidden = false;
  $('results-h').textContent = `Search results for “${q}”`;
  for (const k of SEARCH_FILTERS) $('s-' + k).value = f[k] || '';
  ol.replaceChildren(el('li', { class: 'note' }, 'Searching…'));
  const want = searchHash(q, f);
  try {
    let qs = 'limit=50&q=' + encodeURIComponent(q);
    for (const k of SEARCH_FILTERS) if (f[k]) qs += '&' + k + '=' + encodeURIComponent(f[k]);
    const r = await api('/api/search?' + qs);
    if (searchHash(route().q || '', route().filters || {}) !== want) return;
    if (!r.results.length) {
      ol.replaceChildren(el('li', { class: 'note' }, `Nothing matches “${q}”.`));
      return;
    }
    // the server searches words and meaning together (hybrid) when it has vectors
    $('results-h').textContent = `Search results for “${q}”` +
      (r.mode === 'hybrid' ? ' (words and meaning)' : r.mode === 'semantic' ? ' (by meaning)' : '');
    ol.replaceChildren(...r.results.map((h) => {
      const rec = Object.assign({ id: h.id, path: h.path, kind: h.kind, status: 'done' }, (docs.get(h.id) || {}).rec || {});
      return el('li', null, thumb(rec),
        el('div', null,
          el('a', { href: '#/doc/' + h.id }, h.title || displayName(rec)),
          fileName(rec) ? el('span', { class: 'file' }, fileName(rec)) : null,
          el('p', { class: 'snippet' }, highlighted(h.snippet || '')),
          h.chunk ? el('p', { class: 'file' }, 'matched by meaning: ' + chunkPlace(h.chunk)) : null));
    }));
  } catch (e) {
    ol.replaceChildren(el('li', { class: 'errors' }, e.message));
  }
}

// ---------------------------------------------------------------- routing

// #/ (the list), #/doc/ID, #/search?q=WORDS
function route() {
  const h = location.hash.replace(/^#/, '') || '/';
  const i = h.indexOf('?');
  const path = i < 0 ? h : h.slice(0, i), qs = new URLSearchParams(i < 0 ? '' : h.slice(i + 1));
  let m;
  if ((m = path.match(/^\/doc\/(\d+)$/))) return { name: 'doc', id: Number(m[1]) };
  if (path === '/search' && qs.get('q')) {
    const filters = {};
    for (const k of SEARCH_FILTERS) if (qs.get(k)) filters[k] = qs.get(k);
    return { name: 'search', q: qs.get('q'), filters };
  }
  return { name: 'home' };
}

function show(focus) {
  const r = route();
  document.body.dataset.view = r.name;
  selected = r.name === 'doc' ? r.id : 0;
  for (const [k, li] of rows) li.classList.toggle('selected', k === selected);
  $('results').hidden = r.name !== 'search';
  $('dossier').hidden = r.name === 'search';
  if (r.name === 'doc') {
    document.title = 'dossier · document ' + r.id;
    openDossier(r.id, focus);
  } else if (r.name === 'search') {
    document.title = 'dossier · ' + r.q;
    $('q').value = r.q;
    search(r.q, r.filters);
    if (focus) $('results-h').focus();
  } else {
    document.title = 'dossier';
    $('dossier').dataset.id = '';
    $('dossier').replaceChildren(el('p', { class: 'note' }, 'Pick a document to see its dossier.'));
  }
}

function go(hash) {
  if (location.hash === hash) show(true); else location.hash = hash;
}

// ------------------------------------------------------- models and memory

function renderResident(resident) {
  if (resident) lastResident = resident;
  const box = $('resident');
  const all = lastResident.slice();
  if (speech && !all.some((m) => m.role === 'asr')) all.push(speech);
  if (!all.length) { box.replaceChildren('none'); return; }
  box.replaceChildren(...all.map((m) => el('span', { class: 'chip' + (m.role === 'asr' ? ' speech' : '') },
    m.role === 'asr' ? `${m.model} (speech${m.bytes ? ', ' + bytes(m.bytes) : ''})` : `${m.model} (${m.role}, ${bytes(m.bytes)})`)));
}

function renderMemory(predicted, budget) {
  if (budget) memoryBudget = budget;
  const m = $('mem');
  m.max = memoryBudget || 1;
  m.value = Math.min(predicted || 0, m.max);
  m.high = m.max * 0.85;
  $('mem-text').textContent = `${bytes(predicted || 0)} of ${bytes(memoryBudget)}`;
}

async function loadModels() {
  try {
    const r = await api('/api/models');
    $('policy').textContent = `${r.policy} · ${r.profile}`;
    if (r.speech) speech = Object.assign({ role: 'asr' }, r.speech);
    renderResident(r.resident || []);
    renderMemory(r.predicted_bytes, r.budget_bytes);
    const msg = $('models-msg');
    msg.hidden = !r.message;
    msg.textContent = r.message || '';
  } catch (e) { /* the strip stays as it was */ }
}

// every process that runs the library's queue, on this machine or others (GET /api/workers)
async function loadWorkers() {
  try {
    const r = await api('/api/workers');
    const live = (r.workers || []).filter((w) => !w.expired);
    const box = $('workers');
    if (!live.length) { box.textContent = 'none'; return; }
    box.replaceChildren(...live.map((w) => el('span', { class: 'chip', title: w.holder + (w.engine ? ' · ' + w.engine : '') },
      `${w.host}: ${w.step ? w.step.kind + ' of #' + w.step.document : 'idle'}${w.models ? ' (' + w.models + ')' : ''} · ${w.done} done`)));
  } catch (e) { /* the strip stays as it was */ }
}

let swapTimer = 0;
function showSwap(text) {
  const s = $('swap');
  s.textContent = text;
  s.hidden = false;
  clearTimeout(swapTimer);
  swapTimer = setTimeout(() => { s.hidden = true; }, 8000);
}

// ------------------------------------------------------------------ events

function docOf(id) {
  let d = docs.get(id);
  if (!d) { d = { rec: { id }, step: '' }; docs.set(id, d); }
  return d;
}

function touched(id) {
  if (rows.has(id)) renderRow(id);
}

const handlers = {
  document_queued(e) { upsertDoc({ id: e.document, path: e.path, kind: e.kind, mime: e.mime, bytes: e.bytes, status: 'queued' }); },
  document_unsupported(e) { upsertDoc({ id: e.document, path: e.path, status: 'unsupported', error: e.message }); },
  document_moved(e) { upsertDoc({ id: e.document, path: e.path }); },
  step_started(e) {
    const d = docOf(e.document);
    d.step = stepWords(e) + '…';
    d.progress = null;
    d.rec.status = 'running';
    touched(e.document);
  },
  step_progress(e) {
    const d = docOf(e.document);
    d.step = stepWords(e) + '…';
    d.progress = { step: e.step, label: e.label, done: Number(e.done) || 0, total: Number(e.total) || 0, unit: e.unit };
    touched(e.document);
  },
  step_finished(e) {
    const d = docOf(e.document);
    d.progress = null;
    d.step = e.ok ? `${stepWords(e)}: done in ${(e.seconds || 0).toFixed(1)} s`
      : `${stepWords(e)} failed${e.final === false ? ', will try again' : ''}: ${e.error || ''}`;
    touched(e.document);
  },
  step_deferred(e) {
    const d = docOf(e.document);
    d.step = `${stepWords(e)} waits: ${e.error}`;
    touched(e.document);
  },
  document_done(e) {
    const d = docOf(e.document);
    d.step = '';
    d.progress = null;
    upsertDoc({ id: e.document, path: e.path, status: e.status, title: e.title });
    if (selected === e.document) openDossier(e.document, false);
  },
  document_failed(e) {
    const d = docOf(e.document);
    d.step = '';
    d.progress = null;
    upsertDoc({ id: e.document, path: e.path, status: e.status || 'failed', error: e.error });
  },
  document_deleted(e) {
    forget(e.document);
    if (selected === e.document) {
      $('dossier').replaceChildren(el('h2', null, 'Deleted'), el('p', { class: 'note' }, 'This document was deleted.'),
        el('p', null, el('a', { href: '#/' }, 'All documents')));
    }
  },
  swapping_model(e) { showSwap(`Swapping model: ${e.from || 'none'} → ${e.to}`); },
  model_loading(e) {
    const box = $('resident');
    if (box.textContent === 'none') box.replaceChildren();
    box.append(el('span', { class: 'chip loading' }, `${e.model} loading…`));
  },
  model_loaded(e) {
    if (e.role === 'asr') { speech = { model: e.model, role: 'asr', bytes: e.bytes }; renderResident(); }
    loadModels();
  },
  model_unloaded(e) {
    if (e.role === 'asr') speech = null;
    loadModels();
  },
  memory(e) { renderResident(e.resident); renderMemory(e.predicted_bytes, e.budget_bytes); },
};

function connect() {
  const conn = $('conn');
  const es = new EventSource(withToken('/api/events'));
  es.onopen = () => { conn.textContent = 'live'; conn.className = 'conn live'; };
  es.onerror = () => { conn.textContent = 'reconnecting…'; conn.className = 'conn down'; };
  for (const name of Object.keys(handlers)) {
    es.addEventListener(name, (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch (err) { return; }
      handlers[name](e);
    });
  }
  // the server ends a stream it dropped or is closing; EventSource reconnects
  // by itself and the server replays what was missed (Last-Event-ID).
  es.addEventListener('closing', () => { conn.textContent = 'server stopped'; conn.className = 'conn down'; });
}

// ---------------------------------------------------------------- keyboard

function setupKeys() {
  document.addEventListener('keydown', (e) => {
    const t = e.target, typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|VIDEO|AUDIO)$/.test(t.tagName));
    if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      $('q').focus();
      $('q').select();
    } else if (e.key === 'Escape' && !typing && !$('confirm').open && route().name !== 'home') {
      const id = selected;
      go('#/');
      const li = rows.get(id);
      const a = li && li.querySelector('a.name');
      (a || $('q')).focus();
    }
  });
}

// -------------------------------------------------------------------- start

document.addEventListener('DOMContentLoaded', async () => {
  setupUploads();
  setupList();
  setupSearchFilters();
  setupKeys();
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = $('q').value.trim();
    if (q) go('#/search?q=' + encodeURIComponent(q));
  });
  let moves = 0; // hash changes since the page opened: Back goes back to the list it came from
  window.addEventListener('hashchange', () => { moves++; show(true); });
  $('back').addEventListener('click', (e) => { if (moves > 0) { e.preventDefault(); history.back(); } });
  connect();
  loadModels();
  loadWorkers();
  setInterval(loadWorkers, 3000);
  show(false);
  try { await loadList(); } catch (e) { listFailed(e); }
  for (const [k, li] of rows) li.classList.toggle('selected', k === selected);
});
