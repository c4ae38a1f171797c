// /m/: the grid leader's phone page. Report (category, description, photos,
// position with accuracy on a mini-map, where it will go), an offline queue
// that sends with the same Idempotency-Key until the server has the report,
// and "my reports" with status, deadlines, timeline and the confirm step.
import { t, applyI18n, lang, setLang, statusName } from '/shared/i18n.js';
import { api, login, logout, currentUser, token, ApiError, missing } from '/shared/api.js';
import { h, clear, $, fmtTime, uuid } from '/shared/dom.js';
import { outbox } from './outbox.js';

const MAX_EDGE = 2048;  // photos are downscaled to at most this many pixels a side

const state = {
  categories: [],
  villages: [],
  category: null,  // {code, name, requires_photo}
  photos: [],      // [{blob, url}]
  pos: null,       // {lon, lat, accuracy, moved}
  map: null, pin: null, circle: null, cells: null,
  flushing: false,
  attachmentsMissing: false,
};

// ---------- session ----------

function showView() {
  const logged = !!token();
  $('#login-view').hidden = logged;
  $('#app-view').hidden = !logged;
  $('#logout').hidden = !logged;
  if (logged) startApp();
}

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#login-error').textContent = '';
  try {
    await login($('#login-user').value.trim(), $('#login-pass').value);
    $('#login-pass').value = '';
    showView();
  } catch (e) {
    $('#login-error').textContent = `${t('login_failed')}: ${e.message}`;
  }
});

$('#logout').addEventListener('click', async () => {
  await logout();
  location.reload();
});

window.addEventListener('wangge-logout', () => showView());

$('#lang').addEventListener('click', () => {
  setLang(lang() === 'en' ? 'zh' : 'en');
  applyI18n();
  renderCategories();
  renderPosition();
  updateNet();
  renderOutbox();
  if (!$('#patrol-view').hidden) loadPatrols();
});

function updateNet() {
  const el = $('#net');
  el.textContent = navigator.onLine ? t('online') : t('offline');
  el.classList.toggle('off', !navigator.onLine);
}

// ---------- tabs ----------

const TABS = ['report', 'patrol', 'mine'];
function selectTab(which) {
  for (const tab of TABS) {
    $(`#${tab}-view`).hidden = tab !== which;
    $(`#tab-${tab}`).setAttribute('aria-selected', String(tab === which));
  }
  if (which === 'mine') { renderOutbox(); loadMine(); }
  else if (which === 'patrol') loadPatrols();
  else if (state.map) state.map.invalidateSize();
}
for (const tab of TABS) $(`#tab-${tab}`).addEventListener('click', () => selectTab(tab));

// ---------- categories ----------

async function loadCategories() {
  try {
    state.categories = await api('/api/v1/categories');
    localStorage.setItem('wangge.categories', JSON.stringify(state.categories));
  } catch {
    // Offline: the list from the last visit.
    try { state.categories = JSON.parse(localStorage.getItem('wangge.categories') || '[]'); } catch { state.categories = []; }
  }
  renderCategories();
  try {
    state.villages = await api('/api/v1/villages');
    localStorage.setItem('wangge.villages', JSON.stringify(state.villages));
  } catch {
    try { state.villages = JSON.parse(localStorage.getItem('wangge.villages') || '[]'); } catch { state.villages = []; }
  }
}

function renderCategories() {
  const q = $('#cat-search').value.trim().toLowerCase();
  const list = clear($('#cat-list'));
  $('#cat-chosen').textContent = state.category
    ? `${t('category')}: ${state.category.group} › ${state.category.name}` : t('choose_category');
  for (const g of state.categories) {
    const groupHit = !q || g.name.toLowerCase().includes(q) || g.code.includes(q);
    const kids = (g.children || []).filter((c) => groupHit || c.name.toLowerCase().includes(q) || c.code.includes(q));
    if (!kids.length) continue;
    const open = !!q || (state.category && state.category.group_code === g.code);
    const det = h('details', { class: 'cat-group', open });
    det.append(h('summary', {}, g.name));
    const box = h('div', { class: 'cat-kids' });
    for (const c of kids) {
      const selected = state.category && state.category.code === c.code;
      box.append(h('button', {
        type: 'button', class: selected ? 'cat selected' : 'cat', 'aria-pressed': String(!!selected),
        dataset: { code: c.code },
        onclick: () => {
          state.category = { code: c.code, name: c.name, group: g.name, group_code: g.code, requires_photo: !!c.requires_photo };
          $('#cat-search').value = '';
          renderCategories();
        },
      }, c.name));
    }
    det.append(box);
    list.append(det);
  }
}
$('#cat-search').addEventListener('input', renderCategories);

// ---------- photos ----------

// Decodes an image file and re-encodes it as JPEG no larger than MAX_EDGE
// a side (this also drops the original's metadata).
async function downscale(file) {
  const img = await createImageBitmap(file).catch(() => null);
  if (!img) throw new Error(`${file.name}: not an image`);
  const scale = Math.min(1, MAX_EDGE / Math.max(img.width, img.height));
  const w = Math.max(1, Math.round(img.width * scale));
  const hgt = Math.max(1, Math.round(img.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = hgt;
  canvas.getContext('2d').drawImage(img, 0, 0, w, hgt);
  img.close?.();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.85));
  if (!blob) throw new Error(`${file.name}: cannot encode`);
  return { blob, width: w, height: hgt };
}

$('#photo-input').addEventListener('change', async (ev) => {
  for (const f of ev.target.files) {
    try {
      const p = await downscale(f);
      state.photos.push({ blob: p.blob, url: URL.createObjectURL(p.blob), width: p.width, height: p.height });
    } catch (e) {
      $('#report-msg').textContent = e.message;
    }
  }
  ev.target.value = '';
  renderThumbs();
});

function renderThumbs() {
  const box = clear($('#thumbs'));
  state.photos.forEach((p, i) => {
    box.append(h('figure', { class: 'thumb' },
      h('img', { src: p.url, alt: `${t('photos')} ${i + 1}`, dataset: { w: p.width, h: p.height } }),
      h('button', { type: 'button', class: 'x', 'aria-label': `${t('cancel')} ${i + 1}`, onclick: () => {
        URL.revokeObjectURL(p.url);
        state.photos.splice(i, 1);
        renderThumbs();
      } }, '×')));
  });
}

// ---------- position ----------

function initMap() {
  if (state.map || !window.L) return;
  const L = window.L;
  state.map = L.map('minimap', { zoomControl: true, attributionControl: false, maxZoom: 19, minZoom: 3 }).setView([34.51, 110.24], 13);
  const tile = localStorage.getItem('wangge.tile_url');
  if (tile) L.tileLayer(tile, { maxZoom: 19 }).addTo(state.map);
  state.cells = L.geoJSON(null, { style: { color: '#555', weight: 1, fillOpacity: 0.05 } }).addTo(state.map);
  state.map.on('click', (e) => setPos(e.latlng.lng, e.latlng.lat, null, true));
  loadCellsAround();
}

async function loadCellsAround() {
  if (!state.map) return;
  const b = state.map.getBounds();
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(',');
  try {
    const fc = await api(`/api/v1/layers/cells.geojson?bbox=${bbox}`);
    state.cells.clearLayers();
    state.cells.addData(fc);
  } catch { /* layers not available or offline: the pin still works */ }
}

function setPos(lon, lat, accuracy, moved) {
  state.pos = { lon, lat, accuracy: moved ? null : accuracy, moved };
  const L = window.L;
  if (state.map && L) {
    if (!state.pin) {
      state.pin = L.marker([lat, lon], { draggable: true, keyboard: true, title: t('drag_pin') }).addTo(state.map);
      state.pin.on('dragend', () => {
        const ll = state.pin.getLatLng();
        setPos(ll.lng, ll.lat, null, true);
      });
    } else {
      state.pin.setLatLng([lat, lon]);
    }
    if (state.circle) { state.circle.remove(); state.circle = null; }
    if (accuracy && !moved) {
      state.circle = L.circle([lat, lon], { radius: accuracy, weight: 1, fillOpacity: 0.1 }).addTo(state.map);
    }
    if (!moved) state.map.setView([lat, lon], 16);
    loadCellsAround();
  }
  renderPosition();
  preview();
}

function renderPosition() {
  const p = state.pos;
  const el = $('#loc-info');
  if (!p) { el.textContent = t('no_location'); return; }
  const acc = p.accuracy != null ? ` · ${t('accuracy')} ±${Math.round(p.accuracy)} ${t('meters')}` : '';
  el.textContent = `${p.lat.toFixed(6)}, ${p.lon.toFixed(6)}${acc}`;
}

function locate() {
  if (!navigator.geolocation) { renderPosition(); return; }
  $('#loc-info').textContent = t('loading');
  navigator.geolocation.getCurrentPosition(
    (g) => setPos(g.coords.longitude, g.coords.latitude, g.coords.accuracy, false),
    () => renderPosition(),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 30000 });
}
$('#locate').addEventListener('click', locate);

let previewSeq = 0;
async function preview() {
  const box = clear($('#preview'));
  if (!state.pos) return;
  const seq = ++previewSeq;
  try {
    const r = await api(`/api/v1/locate?lon=${state.pos.lon}&lat=${state.pos.lat}`);
    if (seq !== previewSeq) return;
    box.append(h('strong', {}, `${t('goes_to')}:`));
    if (!r.inside) {
      box.append(h('p', { class: 'warn' }, t('outside')));
      return;
    }
    const dl = h('dl', {});
    const row = (k, v) => { if (v) dl.append(h('dt', {}, t(k)), h('dd', {}, v)); };
    row('cell', `${r.cell_name || ''} (${r.cell})`);
    const v = state.villages.find((x) => x.code === r.village);
    row('village', v ? v.name : r.village);
    row('branch', r.branch_name);
    row('zones', (r.zones || []).join('、'));
    box.append(dl);
  } catch (e) {
    if (seq === previewSeq) box.append(h('p', { class: 'hint' }, navigator.onLine ? e.message : t('offline')));
  }
}

// ---------- submitting and the outbox ----------

$('#report-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const msg = $('#report-msg');
  const desc = $('#desc').value.trim();
  if (!state.category) { msg.textContent = t('choose_category'); $('#cat-search').focus(); return; }
  if (!desc) { msg.textContent = t('need_description'); $('#desc').focus(); return; }
  if (!state.pos) { msg.textContent = t('need_location'); $('#locate').focus(); return; }
  if (state.category.requires_photo && !state.photos.length) { msg.textContent = t('photo_needed'); return; }
  const report = {
    category: state.category.code,
    description: desc,
    lon: state.pos.lon,
    lat: state.pos.lat,
    reported_at: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  if (state.pos.accuracy != null) report.accuracy_m = Math.round(state.pos.accuracy * 10) / 10;
  // Saved before the first try, with its key fixed from now on.
  const item = { key: uuid(), report, photos: state.photos.map((p) => p.blob), uploaded: 0,
    created: Date.now(), case_id: null, number: null, error: '', category_name: state.category.name };
  await outbox.put(item);
  $('#submit').disabled = true;
  msg.textContent = t('sending');
  const result = await sendOne(item);
  $('#submit').disabled = false;
  if (result === 'sent') {
    msg.textContent = `${t('sent')} ${item.number}`;
  } else if (result === 'queued') {
    msg.textContent = t('queued');
  } else {
    msg.textContent = item.error;
  }
  if (result !== 'failed') {
    $('#desc').value = '';
    state.photos.forEach((p) => URL.revokeObjectURL(p.url));
    state.photos = [];
    renderThumbs();
  }
  renderOutbox();
});

// Sends one outbox entry as far as it gets: the report, then each photo.
// 'sent' (removed from the outbox), 'queued' (no connection or server
// trouble; kept) or 'failed' (the server refused it; kept with the reason).
async function sendOne(item) {
  try {
    if (item.kind === 'patrol') {
      await api('/api/v1/patrols', { json: item.patrol, headers: { 'Idempotency-Key': item.key } });
      await outbox.remove(item.key);
      return 'sent';
    }
    if (!item.case_id) {
      const c = await api('/api/v1/reports', { json: item.report, headers: { 'Idempotency-Key': item.key } });
      item.case_id = c.id;
      item.number = c.number;
      await outbox.put(item);
    }
    while (item.uploaded < item.photos.length && !state.attachmentsMissing) {
      const blob = item.photos[item.uploaded];
      try {
        await api(`/api/v1/cases/${item.case_id}/attachments`, { raw: blob, type: blob.type || 'image/jpeg' });
      } catch (e) {
        if (missing(e)) { state.attachmentsMissing = true; break; }
        throw e;
      }
      item.uploaded += 1;
      await outbox.put(item);
    }
    await outbox.remove(item.key);
    return 'sent';
  } catch (e) {
    if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 401 && e.status !== 408 && e.status !== 429) {
      item.error = e.message;
      await outbox.put(item);
      return 'failed';
    }
    return 'queued';
  }
}

async function flush() {
  if (state.flushing || !token()) return;
  state.flushing = true;
  try {
    for (const item of await outbox.all()) {
      if (item.error) continue;  // refused by the server: the user decides
      if ((await sendOne(item)) === 'queued') break;  // still offline
    }
  } finally {
    state.flushing = false;
    renderOutbox();
  }
}

async function renderOutbox() {
  const items = await outbox.all().catch(() => []);
  const badge = $('#queue-badge');
  badge.hidden = !items.length;
  badge.textContent = String(items.length);
  $('#outbox').hidden = !items.length;
  const ul = clear($('#outbox-list'));
  for (const it of items) {
    const patrol = it.kind === 'patrol';
    const what = patrol ? `${t('patrol')} ${it.cell_name}` : it.category_name || it.report.category;
    const li = h('li', { class: it.error ? 'failed' : '' },
      h('span', {}, `${what} · ${new Date(it.created).toLocaleString()}`),
      h('span', { class: 'desc' }, patrol ? it.patrol.note : it.report.description));
    if (it.error) {
      li.append(h('span', { class: 'error' }, it.error),
        h('button', { type: 'button', onclick: async () => { await outbox.remove(it.key); renderOutbox(); } }, t('cancel')));
    }
    ul.append(li);
  }
}

$('#send-now').addEventListener('click', flush);
window.addEventListener('online', () => { updateNet(); flush(); });
window.addEventListener('offline', updateNet);

// ---------- patrols (一周三巡、半月全覆盖) ----------

// The patrol under way, kept across reloads: {cell, started_at}.
const PATROL = 'wangge.patrol';
function patrolUnderWay() {
  try { return JSON.parse(localStorage.getItem(PATROL) || 'null'); } catch { return null; }
}
const isoNow = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

async function loadPatrols() {
  const ul = $('#patrol-cells');
  let cov;
  try {
    cov = await api('/api/v1/patrols/coverage');
  } catch (e) {
    clear(ul).append(h('li', { class: 'hint' }, navigator.onLine ? e.message : t('offline')));
    renderPatrolForm();
    return;
  }
  state.patrolCells = cov.cells;
  clear(ul);
  if (!cov.cells.length) ul.append(h('li', { class: 'hint' }, t('no_cells')));
  for (const c of cov.cells) {
    ul.append(h('li', { 'data-cell': c.cell, class: c.week_met ? 'met' : '' },
      h('strong', {}, c.name), ' ',
      h('span', { class: 'count' }, `${t('this_week')} ${c.this_week}/${cov.per_week}`), ' ',
      h('span', { class: c.covered ? 'when' : 'error' },
        c.last_patrol ? `${t('last_patrol')} ${fmtTime(c.last_patrol)}` : t('never_patrolled'))));
  }
  renderPatrolForm();
}

function renderPatrolForm() {
  const sel = $('#patrol-cell');
  const current = patrolUnderWay();
  const chosen = current ? current.cell : sel.value;
  clear(sel);
  for (const c of state.patrolCells || []) sel.append(h('option', { value: c.cell }, c.name));
  if (current && !sel.querySelector(`option[value="${CSS.escape(current.cell)}"]`)) {
    sel.append(h('option', { value: current.cell }, current.cell));
  }
  if (chosen) sel.value = chosen;
  sel.disabled = !!current;
  $('#patrol-start').hidden = !!current;
  $('#patrol-end').hidden = !current;
  $('#patrol-state').textContent = current ? `${t('patrolling_since')} ${fmtTime(current.started_at)}` : '';
}

$('#patrol-start').addEventListener('click', () => {
  const cell = $('#patrol-cell').value;
  if (!cell) { $('#patrol-msg').textContent = t('choose_cell'); return; }
  localStorage.setItem(PATROL, JSON.stringify({ cell, started_at: isoNow() }));
  $('#patrol-msg').textContent = '';
  renderPatrolForm();
});

// Ends the patrol under way and sends it through the outbox (the same key
// on every retry, as for reports).
$('#patrol-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const current = patrolUnderWay();
  if (!current) return;
  const patrol = { cell: current.cell, started_at: current.started_at, ended_at: isoNow(),
    note: $('#patrol-note').value.trim() };
  if (state.pos) { patrol.lon = state.pos.lon; patrol.lat = state.pos.lat; }
  const cell = (state.patrolCells || []).find((c) => c.cell === current.cell);
  const item = { key: uuid(), kind: 'patrol', patrol, created: Date.now(), error: '',
    cell_name: cell ? cell.name : current.cell };
  await outbox.put(item);
  localStorage.removeItem(PATROL);
  $('#patrol-note').value = '';
  const result = await sendOne(item);
  $('#patrol-msg').textContent =
    result === 'sent' ? t('patrol_sent') : result === 'queued' ? t('queued') : item.error;
  renderPatrolForm();
  renderOutbox();
  if (result === 'sent') loadPatrols();
});

// ---------- my reports ----------

async function loadMine() {
  const ul = $('#mine-list');
  const me = currentUser();
  let cases;
  try {
    const r = await api('/api/v1/cases?limit=100');
    cases = (r.cases || []).filter((c) => !me || c.reporter === me.id || c.reporter === me.username);
  } catch (e) {
    clear(ul).append(h('li', { class: 'hint' }, navigator.onLine ? e.message : t('offline')));
    return;
  }
  clear(ul);
  if (!cases.length) ul.append(h('li', { class: 'hint' }, t('no_reports')));
  for (const c of cases) {
    ul.append(h('li', {},
      h('button', { type: 'button', class: 'case-row', onclick: () => showCase(c.id) },
        h('span', { class: `status s-${c.status}` }, statusName(c.status)),
        h('span', { class: 'num' }, c.number),
        h('span', { class: 'desc' }, c.description),
        h('span', { class: 'when' }, `${t('deadline')} ${fmtTime(c.assignment?.handle_by)}`))));
  }
}
$('#refresh').addEventListener('click', () => { flush(); loadMine(); });

async function showCase(id) {
  const box = $('#case-detail');
  box.hidden = false;
  clear(box).append(h('p', {}, t('loading')));
  let c;
  try { c = await api(`/api/v1/cases/${id}`); } catch (e) { clear(box).append(h('p', { class: 'error' }, e.message)); return; }
  clear(box);
  box.append(
    h('div', { class: 'row' }, h('h2', {}, `${t('case_no')} ${c.number}`),
      h('button', { type: 'button', onclick: () => { box.hidden = true; } }, t('close'))),
    h('p', {}, h('span', { class: `status s-${c.status}` }, statusName(c.status))),
    h('p', { class: 'desc' }, c.description),
    h('dl', {},
      h('dt', {}, t('received')), h('dd', {}, fmtTime(c.received_at)),
      h('dt', {}, t('accept_by')), h('dd', {}, fmtTime(c.assignment?.accept_by)),
      h('dt', {}, t('deadline')), h('dd', {}, fmtTime(c.assignment?.handle_by))));
  box.append(h('h3', {}, t('timeline')));
  const ol = h('ol', { class: 'timeline' });
  for (const e of c.events || []) {
    ol.append(h('li', {}, h('time', {}, fmtTime(e.at)), ' ',
      h('strong', {}, statusName(e.to)), e.note ? h('span', { class: 'note' }, e.note) : null));
  }
  box.append(ol);
  if ((c.allowed_actions || []).includes('confirm')) box.append(confirmForm(c));
  box.scrollIntoView({ behavior: 'smooth', block: 'start' });
}

// The reporter rates the closed case: satisfied, or not (the case reopens).
function confirmForm(c) {
  const note = h('textarea', { id: 'confirm-note', rows: 2 });
  const out = h('p', { class: 'msg', role: 'status' });
  const send = async (satisfied) => {
    try {
      await api(`/api/v1/cases/${c.id}/actions`, { json: { action: 'confirm', version: c.version, satisfied, note: note.value.trim() } });
      showCase(c.id);
      loadMine();
    } catch (e) {
      out.textContent = e.status === 409 ? t('version_conflict') : e.message;
    }
  };
  return h('div', { class: 'confirm' },
    h('h3', {}, t('confirm_title')),
    h('label', { for: 'confirm-note' }, t('note')), note,
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', onclick: () => send(true) }, t('satisfied')),
      h('button', { type: 'button', onclick: () => send(false) }, t('dispute'))),
    out);
}

// ---------- start ----------

let started = false;
function startApp() {
  if (started) return;
  started = true;
  loadCategories();
  initMap();
  renderPosition();
  locate();
  renderOutbox();
  flush();
  setInterval(() => { if (navigator.onLine) flush(); }, 30000);
}

applyI18n();
updateNet();
showView();
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/m/sw.js', { scope: '/m/' }).catch(() => { /* not a secure context */ });
}
// Used by the browser tests to wait for the queue state.
window.wanggeOutbox = outbox;
