// rlhf_t2i labelling page: label mode (good / bad / skip) and compare mode (two sets side by side). No build step.
'use strict';
const $ = (id) => document.getElementById(id);
const TOKEN = 'rlhf_t2i.token', OUTBOX = 'rlhf_t2i.outbox';
const LABEL_KEYS = {g: 'good', b: 'bad', s: 'skip'};
const SIDE_KEYS = {q: ['alignment', 'left'], w: ['alignment', 'tie'], e: ['alignment', 'right'],
                   a: ['fidelity', 'left'], s: ['fidelity', 'tie'], d: ['fidelity', 'right']};
let me = null, screen = null, query = null, busy = false, blobs = [];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const enc = encodeURIComponent;
const token = () => localStorage.getItem(TOKEN);
const say = (text) => { $('status').textContent = text; };
const mode = () => (location.hash === '#compare' && me && me.compare ? 'compare' : 'label');
const mine = (what) => `/api/labellers/${enc(me.labeller)}/${what}`;

function requestId() {  // made once per label or vote and kept through retries, so the server stores it once
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
}

class ApiError extends Error {  // the server answered with an error
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, body) {  // one request: its JSON, or ApiError (an error answer), or TypeError (no answer)
  const opts = {headers: {Authorization: 'Bearer ' + token()}, cache: 'no-store'};
  if (body !== undefined) {
    opts.method = 'POST'; opts.body = JSON.stringify(body); opts.headers['Content-Type'] = 'application/json';
  }
  const r = await fetch(path, opts);
  const data = await r.json().catch(() => ({}));
  if (r.status === 401) showLogin(data.error || 'Please log in.');
  if (!r.ok) throw new ApiError(r.status, data.error || r.statusText);
  return data;
}

async function send(item) {  // POST until the server answers; no answer or a 5xx is retried with the same request id
  for (let attempt = 1; ; attempt++) {
    try { return await api(item.path, item.body); }
    catch (e) {
      if ((e instanceof ApiError && e.status < 500) || attempt >= 40) throw e;
      say(`No answer from the server (${e.message}); trying again...`);
      await sleep(Math.min(4000, 250 * attempt));
    }
  }
}

const outbox = () => JSON.parse(localStorage.getItem(`${OUTBOX}.${me.labeller}`) || '[]');  // one per labeller
const setOutbox = (items) => localStorage.setItem(`${OUTBOX}.${me.labeller}`, JSON.stringify(items));
const unqueue = (item) => setOutbox(outbox().filter((x) => x.body.request_id !== item.body.request_id));

async function flush() {  // send what waits in the outbox, oldest first; kept there until acknowledged
  let saved = 0; const refused = [];
  for (const item of outbox()) {
    try { await send(item); saved++; }
    catch (e) {
      if (!(e instanceof ApiError) || e.status === 401) throw e;  // kept, to be sent later
      refused.push(e.message);  // refused for good (say, a vote on a query the restarted server forgot)
    }
    unqueue(item);
  }
  return {saved, refused};
}

async function imageSrc(url) {  // images need the token too, so they are fetched and shown as blobs
  const r = await fetch(url, {headers: {Authorization: 'Bearer ' + token()}});
  if (!r.ok) return '';
  const src = URL.createObjectURL(await r.blob());
  blobs.push(src);
  return src;
}

function freeImages() { blobs.forEach((u) => URL.revokeObjectURL(u)); blobs = []; }

function img(url, alt) {
  const el = document.createElement('img'); el.alt = alt;
  imageSrc(url).then((src) => { el.src = src; });
  return el;
}

// Label mode
async function loadScreen() {
  screen = null; freeImages();
  const s = await api(mine('screen'));
  $('progress').textContent = `${s.progress.done} / ${s.progress.total} images labelled`;
  const box = $('images'); box.replaceChildren();
  if (!s.images.length) { $('prompt').textContent = 'Nothing left to label. Thank you!'; return; }
  $('prompt').textContent = s.prompt;
  s.images.forEach((im, i) => {
    const fig = document.createElement('figure'); fig.dataset.imageId = im.image_id;
    const cap = document.createElement('figcaption'); cap.textContent = `${i + 1}`;
    const choices = document.createElement('div');
    for (const [key, value] of Object.entries(LABEL_KEYS)) {
      const b = document.createElement('button');
      b.type = 'button'; b.dataset.value = value; b.textContent = `${value} (${key})`;
      b.addEventListener('click', (e) => { e.stopPropagation(); if (screen) { screen.sel = i; choose(value); } });
      choices.append(b);
    }
    fig.addEventListener('click', () => { if (screen) { screen.sel = i; drawScreen(); } });
    fig.append(cap, img(im.url, `image ${i + 1}`), choices);
    box.append(fig);
  });
  screen = {images: s.images, choices: s.images.map(() => null), sel: 0};
  drawScreen();
}

function drawScreen() {
  [...$('images').children].forEach((fig, i) => {
    fig.classList.toggle('selected', i === screen.sel);
    fig.querySelectorAll('button').forEach((b) => b.setAttribute('aria-pressed', String(b.dataset.value === screen.choices[i])));
  });
}

function choose(value) {
  say('');
  screen.choices[screen.sel] = value;
  screen.sel = Math.min(screen.sel + 1, screen.images.length - 1);
  drawScreen();
}

function submitScreen() {
  if (busy) return;
  if (screen) {
    const missing = screen.choices.indexOf(null);
    if (missing >= 0) { screen.sel = missing; drawScreen(); say(`Choose good, bad or skip for image ${missing + 1}.`); return; }
    const path = mine('labels');
    setOutbox(outbox().concat(screen.images.map((im, i) =>
      ({path, body: {image_id: im.image_id, value: screen.choices[i], request_id: requestId()}}))));
    screen = null;  // keys do nothing until the next screen is shown
  }
  return run(next);
}

// Compare mode
async function loadQuery() {
  query = null; freeImages();
  const q = await api(mine('compare'));
  $('cmp-progress').textContent = `${q.progress.done} / ${q.progress.total} prompts compared`;
  for (const side of ['left', 'right']) $(side).replaceChildren(...q[side].map((url, i) => img(url, `${side} image ${i + 1}`)));
  $('cmp-prompt').textContent = q.query_id ? q.prompt : 'Nothing left to compare. Thank you!';
  if (q.query_id) query = {id: q.query_id, alignment: null, fidelity: null};
  drawQuery();
}

function drawQuery() {
  document.querySelectorAll('[data-question]').forEach((b) =>
    b.setAttribute('aria-pressed', String(!!query && query[b.dataset.question] === b.dataset.side)));
}

function submitQuery() {
  if (busy) return;
  if (query) {
    const missing = ['alignment', 'fidelity'].filter((k) => !query[k]);
    if (missing.length) { say(`Choose left, tie or right for ${missing.join(' and ')}.`); return; }
    setOutbox(outbox().concat([{path: mine('votes'),
      body: {query_id: query.id, request_id: requestId(), alignment: query.alignment, fidelity: query.fidelity}}]));
    query = null;
  }
  return run(next);
}

// Both
async function next() {  // send what waits, then show the next screen or query
  const {saved, refused} = await flush();
  say(refused.length ? `Not saved: ${refused.join('; ')}` : saved ? `Saved ${saved} ${saved === 1 ? 'answer' : 'answers'}.` : '');
  await (mode() === 'label' ? loadScreen() : loadQuery());
}

async function run(task) {
  if (busy) return;
  busy = true; document.body.classList.add('busy');
  try { await task(); }
  catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) say(`Problem: ${e.message}. Nothing you submitted is lost: press Enter to try again.`);
  }
  finally { busy = false; document.body.classList.remove('busy'); }
}

function showLogin(message, forget = true) {
  if (forget) localStorage.removeItem(TOKEN);
  me = null; screen = null; query = null;
  $('app').hidden = true; $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token-input').focus();
}

async function start() {
  try { me = await api('/api/me'); }
  catch (e) { if (!(e instanceof ApiError && e.status === 401)) showLogin(`The server cannot be reached (${e.message}).`, false); return; }
  $('login').hidden = true; $('app').hidden = false;
  $('who').textContent = me.labeller;
  $('nav-compare').hidden = !me.compare;
  await route();
}

async function route() {
  $('label-mode').hidden = mode() !== 'label'; $('compare-mode').hidden = mode() !== 'compare';
  screen = null; query = null;
  await run(next);
}

document.addEventListener('keydown', (e) => {
  if (!me || e.ctrlKey || e.metaKey || e.altKey || (e.target.closest && e.target.closest('input, textarea'))) return;
  const k = e.key.toLowerCase();
  if (k === 'enter') { e.preventDefault(); mode() === 'label' ? submitScreen() : submitQuery(); return; }
  if (mode() === 'label' && screen) {
    if (/^[1-9]$/.test(k) && Number(k) <= screen.images.length) { screen.sel = Number(k) - 1; drawScreen(); }
    else if (LABEL_KEYS[k]) choose(LABEL_KEYS[k]);
    else return;
  } else if (mode() === 'compare' && query && SIDE_KEYS[k]) {
    const [question, side] = SIDE_KEYS[k]; query[question] = side; drawQuery(); say('');
  } else return;
  e.preventDefault();
});

document.querySelectorAll('[data-question]').forEach((b) => b.addEventListener('click', () => {
  if (query) { query[b.dataset.question] = b.dataset.side; drawQuery(); }
}));
$('submit').addEventListener('click', submitScreen);
$('vote').addEventListener('click', submitQuery);
$('logout').addEventListener('click', () => showLogin('Logged out.'));
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  localStorage.setItem(TOKEN, $('token-input').value.trim()); $('token-input').value = '';
  start();
});
window.addEventListener('hashchange', () => { if (me) route(); });

const here = new URL(location.href);  // a token in the link is kept in this browser and taken out of the address bar
if (here.searchParams.has('token')) {
  localStorage.setItem(TOKEN, here.searchParams.get('token'));
  here.searchParams.delete('token');
  history.replaceState(null, '', here);
}
if (token()) start(); else showLogin('');
