// dossier's page: uploads, the live queue (Server-Sent Events), the models and
// memory strip, dossiers and search. Plain JavaScript, no build step, no CDN.
// Untrusted text is only ever put in the page as text nodes, never as HTML.
'use strict';

const params = new URLSearchParams(location.search);
const token = params.get('token') || '';
const docs = new Map();          // id -> {rec, step, li}
let selected = 0;                // id of the dossier shown
let memoryBudget = 0;

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
  if (!r.ok) throw new Error((body && body.error) || (r.status + ' ' + r.statusText));
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

// A display name: the name the file was uploaded with (remembered in this
// browser), else the dossier's title, else the stored file's name.
function names() {
  try { return JSON.parse(localStorage.getItem('dossier.names') || '{}'); } catch (e) { return {}; }
}
function rememberName(sha, name) {
  if (!sha || !name) return;
  const n = names();
  n[sha] = name;
  try { localStorage.setItem('dossier.names', JSON.stringify(n)); } catch (e) { /* private mode */ }
}
function displayName(rec) {
  const n = names()[rec.sha256];
  if (n) return n;
  if (rec.title) return rec.title;
  return (rec.path || '').split('/').pop() || ('document ' + rec.id);
}

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

// ------------------------------------------------------------------ queue

function stepText(d) {
  const r = d.rec;
  if (d.step) return d.step;
  if (r.status === 'queued') return 'waiting for a lane';
  if (r.status === 'unsupported' || r.status === 'failed') return r.error || '';
  return '';
}

function renderDoc(id) {
  const d = docs.get(id);
  if (!d) return;
  const r = d.rec;
  const li = el('li', { 'data-id': id, class: id === selected ? 'selected' : '' },
    el('button', { class: 'link name', type: 'button', onclick: () => openDossier(id) }, displayName(r)),
    el('span', { class: 'badge ' + r.status }, r.status),
    el('span', { class: 'step' }, [r.kind, stepText(d)].filter(Boolean).join(' · ')));
  if (d.li) d.li.replaceWith(li); else $('queue').prepend(li);
  d.li = li;
  $('queue-empty').hidden = docs.size > 0;
}

const FINAL = new Set(['done', 'partial', 'failed', 'unsupported']);

// weak: a snapshot (an upload's reply, the first listing) that may be older than
// the events already received; it never turns a finished document back to queued.
function upsertDoc(rec, weak) {
  const d = docs.get(rec.id) || { rec: {}, step: '' };
  if (weak && FINAL.has(d.rec.status) && !FINAL.has(rec.status)) {
    rec = Object.assign({}, rec);
    delete rec.status;
  }
  d.rec = Object.assign({}, d.rec, rec);
  docs.set(rec.id, d);
  renderDoc(rec.id);
}

async function loadQueue() {
  const r = await api('/api/documents?limit=200&offset=0');
  let total = r.total, all = r.documents;
  if (total > 200) {
    const tail = await api('/api/documents?limit=200&offset=' + (total - 200));
    all = tail.documents;
  }
  for (const rec of all) upsertDoc(rec, true);
}

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
      rememberName(body.sha256, file.name);
      upsertDoc(body, true);
      item.replaceChildren(file.name + ': ' + (xhr.status === 200 ? 'already here' :
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

function renderDossier(d) {
  const box = $('dossier');
  const parts = [];
  const title = d.title || displayName(d);
  parts.push(el('h2', { id: 'dossier-title' }, title));
  parts.push(el('p', { class: 'meta' },
    [d.kind, d.mime, bytes(d.bytes), d.status || d.document_status, d.language].filter(Boolean).join(' · ')));
  if (!d.dossier_version) {
    parts.push(el('p', { class: 'note' }, 'Not analysed yet: ' + d.status + '.'));
    if (d.steps) parts.push(el('ul', null, d.steps.map((s) => el('li', null, `${s.step} (${s.role}): ${s.state}`))));
    if (d.error) parts.push(el('p', { class: 'errors' }, d.error));
    box.replaceChildren(...parts);
    return;
  }
  if (d.errors && d.errors.length)
    parts.push(...section('Problems', el('ul', { class: 'errors' }, d.errors.map((e) => el('li', null, `${e.step}: ${e.message}`)))));
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
    if (ocr) parts.push(...section('Text in the image (OCR)', el('div', { class: 'text' }, ocr)));
  }
  if (d.transcript && d.transcript.segments && d.transcript.segments.length) {
    const rows = d.transcript.segments.map((s) => el('li', null,
      el('time', { datetime: 'PT' + (s.start || 0).toFixed(1) + 'S' }, clock(s.start)),
      el('span', null, s.text)));
    parts.push(...section('Transcript', el('ol', { class: 'transcript' }, rows)));
  }
  if (d.frames && d.frames.length) {
    const figs = d.frames.map((f, i) => {
      const img = el('img', {
        src: withToken(`/api/documents/${d.id}/frames/${i}`), loading: 'lazy', width: f.width, height: f.height,
        alt: f.description || ('frame at ' + clock(f.time)),
      });
      const caption = el('figcaption', null, el('time', null, clock(f.time)), ' ', f.description || f.ocr_text || '');
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
      el('ul', null, Object.entries(d.sources).map(([k, v]) => el('li', null, `${k}: ${v}`)))));
  }
  box.replaceChildren(...parts);
}

async function openDossier(id, focus = true) {
  selected = id;
  for (const [k, d] of docs) if (d.li) d.li.classList.toggle('selected', k === id);
  try {
    const d = await api('/api/documents/' + id);
    renderDossier(d);
    if (focus) $('dossier').focus();
  } catch (e) {
    $('dossier').replaceChildren(el('p', { class: 'errors' }, e.message));
  }
}

// ------------------------------------------------------------------ search

async function search(q) {
  const box = $('results'), list = $('results-list');
  box.hidden = false;
  list.replaceChildren(el('li', { class: 'note' }, 'Searching…'));
  try {
    const r = await api('/api/search?limit=20&q=' + encodeURIComponent(q));
    if (!r.results.length) {
      list.replaceChildren(el('li', { class: 'note' }, `Nothing matches “${q}”.`));
      return;
    }
    list.replaceChildren(...r.results.map((h) => {
      const rec = (docs.get(h.id) || {}).rec || { id: h.id, path: h.path, title: h.title };
      return el('li', null,
        el('button', { class: 'link', type: 'button', onclick: () => openDossier(h.id) }, h.title || displayName(rec)),
        el('p', { class: 'snippet' }, highlighted(h.snippet || '')));
    }));
  } catch (e) {
    list.replaceChildren(el('li', { class: 'errors' }, e.message));
  }
}

// ------------------------------------------------------- models and memory

function renderResident(resident) {
  const box = $('resident');
  if (!resident || !resident.length) { box.replaceChildren('none'); return; }
  box.replaceChildren(...resident.map((m) => el('span', { class: 'chip' }, `${m.model} (${m.role}, ${bytes(m.bytes)})`)));
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
    renderResident(r.resident);
    renderMemory(r.predicted_bytes, r.budget_bytes);
    const msg = $('models-msg');
    msg.hidden = !r.message;
    msg.textContent = r.message || '';
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

const handlers = {
  document_queued(e) { upsertDoc({ id: e.document, path: e.path, kind: e.kind, mime: e.mime, bytes: e.bytes, status: 'queued' }); },
  document_unsupported(e) { upsertDoc({ id: e.document, path: e.path, status: 'unsupported', error: e.message }); },
  document_moved(e) { upsertDoc({ id: e.document, path: e.path }); },
  step_started(e) {
    const d = docs.get(e.document);
    if (!d) return;
    d.step = `${e.step} (${e.lane})…`;
    d.rec.status = 'running';
    renderDoc(e.document);
  },
  step_finished(e) {
    const d = docs.get(e.document);
    if (!d) return;
    d.step = `${e.step} ${e.ok ? 'done' : 'failed'} in ${(e.seconds || 0).toFixed(1)} s`;
    renderDoc(e.document);
  },
  step_deferred(e) {
    const d = docs.get(e.document);
    if (!d) return;
    d.step = `${e.step} waits: ${e.error}`;
    renderDoc(e.document);
  },
  document_done(e) {
    const d = docs.get(e.document) || { rec: { id: e.document } };
    docs.set(e.document, d);
    d.step = '';
    upsertDoc({ id: e.document, path: e.path, status: e.status, title: e.title });
    if (selected === e.document) openDossier(e.document, false);
  },
  document_failed(e) {
    upsertDoc({ id: e.document, path: e.path, status: 'failed', error: e.error });
    const d = docs.get(e.document);
    d.step = '';
    renderDoc(e.document);
  },
  document_deleted(e) {
    const d = docs.get(e.document);
    if (d && d.li) d.li.remove();
    docs.delete(e.document);
    $('queue-empty').hidden = docs.size > 0;
  },
  swapping_model(e) { showSwap(`Swapping Model: ${e.from || 'none'} → ${e.to}`); },
  model_loading(e) {
    const box = $('resident');
    if (box.textContent === 'none') box.replaceChildren();
    box.append(el('span', { class: 'chip loading' }, `${e.model} loading…`));
  },
  model_loaded() { loadModels(); },
  model_unloaded() { loadModels(); },
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

// -------------------------------------------------------------------- start

document.addEventListener('DOMContentLoaded', async () => {
  setupUploads();
  $('search-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = $('q').value.trim();
    if (q) search(q);
  });
  connect();
  loadModels();
  try { await loadQueue(); } catch (e) {
    $('queue-empty').textContent = 'Cannot list documents: ' + e.message;
  }
});
