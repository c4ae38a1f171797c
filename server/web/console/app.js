// /console/: the 综治中心's desk. Map of villages, cells (coloured by open and
// overdue cases) and zones with clustered case markers; the case queue with
// the case-list filters; case detail with exactly the actions the server
// allows this user now; statistics with bar charts; exports.
import { t, applyI18n, lang, setLang, statusName, actionName } from '/shared/i18n.js';
import { api, login, logout, token, currentUser, ApiError, missing } from '/shared/api.js';
import { h, clear, $, fmtTime, parseTime, townClock, townDay, TOWN_OFFSET } from '/shared/dom.js';
import { barChart } from './chart.js';

const PAGE = 50;
const OPEN = new Set(['reported', 'accepted', 'dispatched', 'in_progress', 'handled', 'verifying', 'reopened']);
const STATUSES = ['reported', 'accepted', 'dispatched', 'in_progress', 'handled', 'verifying', 'closed', 'rejected', 'reopened'];

const VIEWS = ['cases', 'stats', 'patrols'];
const ref = { categories: new Map(), groups: [], villages: [], branches: [], offices: [] };
const q = { offset: 0, sort: 'received_at', dir: -1, cases: [], current: null };
const m = { map: null, villages: null, cells: null, zones: null, markers: null, cellFeatures: null };

// ---------- session and navigation ----------

function isOverdue(c) {
  if (typeof c.overdue === 'boolean') return c.overdue;
  if (!OPEN.has(c.status)) return false;
  const by = c.status === 'reported' ? c.assignment?.accept_by : c.assignment?.handle_by;
  if (!by) return false;
  const d = parseTime(by);
  return !Number.isNaN(d.getTime()) && d < new Date();
}

function showView() {
  const logged = !!token();
  $('#login-view').hidden = logged;
  $('#nav').hidden = !logged;
  $('#logout').hidden = !logged;
  const u = currentUser();
  $('#who').textContent = logged && u ? `${u.name || u.username} (${u.role})` : '';
  if (!logged) {
    for (const v of VIEWS) $(`#${v}-view`).hidden = true;
    $('#login-user').focus();
    return;
  }
  start();
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
$('#logout').addEventListener('click', async () => { await logout(); location.reload(); });
window.addEventListener('wangge-logout', showView);
$('#lang').addEventListener('click', () => {
  setLang(lang() === 'en' ? 'zh' : 'en');
  applyI18n();
  fillFilterOptions();
  renderQueue();
  if (q.current) renderDetail(q.current);
  if (!$('#patrols-view').hidden) loadPatrolCoverage();
});

function go(view) {
  for (const v of VIEWS) {
    $(`#${v}-view`).hidden = v !== view;
    const b = $(`#nav-${v}`);
    if (v === view) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
  }
  if (view === 'stats') loadStats();
  else if (view === 'patrols') loadPatrolCoverage();
  else m.map?.invalidateSize();
  if (!(view === 'cases' && /^#case=/.test(location.hash))) {
    history.replaceState(null, '', `${location.search}#${view}`);
  }
}
for (const v of VIEWS) $(`#nav-${v}`).addEventListener('click', () => go(v));

// ---------- reference data and filters ----------

async function loadReference() {
  const get = (p) => api(p).catch(() => []);
  const [cats, villages, branches, offices] = await Promise.all([
    get('/api/v1/categories'), get('/api/v1/villages'), get('/api/v1/branches'), get('/api/v1/offices')]);
  ref.groups = cats;
  for (const g of cats) for (const c of g.children || []) ref.categories.set(c.code, { ...c, group: g.name });
  ref.villages = villages;
  ref.branches = branches;
  ref.offices = offices;
  fillFilterOptions();
}

function options(select, items, keep) {
  const v = keep ?? select.value;
  clear(select).append(h('option', { value: '' }, t('all')));
  for (const [value, label] of items) select.append(h('option', { value }, label));
  select.value = v;
}

function fillFilterOptions() {
  options($('#f-status'), STATUSES.map((s) => [s, statusName(s)]));
  const cats = [];
  for (const g of ref.groups) for (const c of g.children || []) cats.push([c.code, `${g.name} › ${c.name}`]);
  options($('#f-category'), cats);
  options($('#f-village'), ref.villages.map((v) => [v.code, v.name]));
  options($('#f-branch'), ref.branches.map((b) => [b.code, b.name]));
  options($('#f-office'), ref.offices.map((o) => [o.code, lang() === 'en' && o.name_en ? o.name_en : o.name]));
}

function villageName(code) { return ref.villages.find((v) => v.code === code)?.name || code || ''; }
function officeName(code) {
  const o = ref.offices.find((x) => x.code === code);
  return o ? (lang() === 'en' && o.name_en ? o.name_en : o.name) : (code || '');
}
function categoryName(code) { return ref.categories.get(code)?.name || code || ''; }

function filterQuery() {
  const p = new URLSearchParams();
  for (const id of ['status', 'category', 'village', 'branch', 'office', 'text']) {
    const v = $(`#f-${id}`).value.trim();
    if (v) p.set(id, v);
  }
  const from = $('#f-from').value;
  const to = $('#f-to').value;
  if (from) p.set('from', `${from}T00:00:00${TOWN_OFFSET}`);
  if (to) p.set('to', `${to}T23:59:59${TOWN_OFFSET}`);
  if ($('#f-overdue').checked) p.set('overdue', 'true');
  return p;
}

$('#filters').addEventListener('submit', (ev) => { ev.preventDefault(); q.offset = 0; loadQueue(); });

// ---------- queue ----------

async function loadQueue() {
  const p = filterQuery();
  p.set('limit', String(PAGE));
  p.set('offset', String(q.offset));
  const body = $('#queue-body');
  try {
    const r = await api(`/api/v1/cases?${p}`);
    q.cases = r.cases || [];
  } catch (e) {
    clear(body).append(h('tr', {}, h('td', { colspan: 7, class: 'error' }, e.message)));
    return;
  }
  renderQueue();
  loadMapCases();
}

function sortValue(c, key) {
  if (key === 'handle_by') return c.assignment?.handle_by || '';
  if (key === 'category') return categoryName(c.category);
  if (key === 'village') return villageName(c.placement?.village);
  return c[key] ?? '';
}

function renderQueue() {
  const body = clear($('#queue-body'));
  const rows = [...q.cases].sort((a, b) => {
    const x = sortValue(a, q.sort);
    const y = sortValue(b, q.sort);
    return (x < y ? -1 : x > y ? 1 : 0) * q.dir;
  });
  for (const th of document.querySelectorAll('#queue th[data-sort]')) {
    th.setAttribute('aria-sort', th.dataset.sort === q.sort ? (q.dir > 0 ? 'ascending' : 'descending') : 'none');
  }
  for (const c of rows) {
    const overdue = isOverdue(c);
    const tr = h('tr', { class: [overdue ? 'overdue' : '', q.current?.id === c.id ? 'current' : ''].join(' ').trim(), dataset: { id: c.id } },
      h('td', {}, h('button', { type: 'button', class: 'link open-case', onclick: () => openCase(c.id) }, c.number)),
      h('td', {}, h('span', { class: `status s-${c.status}` }, statusName(c.status)), overdue ? h('span', { class: 'tag-overdue' }, t('overdue')) : null),
      h('td', {}, categoryName(c.category)),
      h('td', {}, villageName(c.placement?.village)),
      h('td', { class: 'desc' }, c.description),
      h('td', {}, fmtTime(c.received_at)),
      h('td', {}, fmtTime(c.assignment?.handle_by)));
    body.append(tr);
  }
  if (!rows.length) body.append(h('tr', {}, h('td', { colspan: 7, class: 'hint' }, t('none'))));
  $('#page-info').textContent = `${q.offset + 1}–${q.offset + rows.length}`;
  $('#prev').disabled = q.offset === 0;
  $('#next').disabled = rows.length < PAGE;
}

for (const th of document.querySelectorAll('#queue th[data-sort]')) {
  th.querySelector('button').addEventListener('click', () => {
    if (q.sort === th.dataset.sort) q.dir = -q.dir; else { q.sort = th.dataset.sort; q.dir = 1; }
    renderQueue();
  });
}
$('#prev').addEventListener('click', () => { q.offset = Math.max(0, q.offset - PAGE); loadQueue(); });
$('#next').addEventListener('click', () => { q.offset += PAGE; loadQueue(); });

// ---------- map ----------

function initMap() {
  const L = window.L;
  if (!L || m.map) return;
  m.map = L.map('map', { maxZoom: 19, minZoom: 3 }).setView([34.51, 110.24], 12);
  const params = new URLSearchParams(location.search);
  if (params.has('tile_url')) {
    const u = params.get('tile_url');
    if (u) localStorage.setItem('wangge.tile_url', u); else localStorage.removeItem('wangge.tile_url');
  }
  const tile = localStorage.getItem('wangge.tile_url');
  if (tile) L.tileLayer(tile, { maxZoom: 19, attribution: '' }).addTo(m.map);
  m.villages = L.geoJSON(null, { style: { color: '#1a237e', weight: 2, fill: false }, interactive: false });
  m.cells = L.geoJSON(null, { style: cellStyle, onEachFeature: (f, layer) => layer.bindTooltip(() => cellTip(f)) });
  m.zones = L.geoJSON(null, { style: { color: '#6a1b9a', weight: 1, dashArray: '4 3', fillOpacity: 0.08 } });
  m.markers = L.markerClusterGroup ? L.markerClusterGroup({ maxClusterRadius: 40 }) : L.layerGroup();
  for (const l of [m.villages, m.cells, m.zones, m.markers]) l.addTo(m.map);
  L.control.layers(null, {
    [t('villages')]: m.villages, [t('cells')]: m.cells, [t('zones_layer')]: m.zones, [t('case_markers')]: m.markers,
  }, { collapsed: false }).addTo(m.map);
  const legend = $('#legend');
  clear(legend).append(
    h('span', { class: 'sw sw-overdue' }), t('overdue_n'), ' ',
    h('span', { class: 'sw sw-open' }), t('open_n'), ' ',
    h('span', { class: 'sw sw-none' }), t('none'));
  loadLayers();
}

const cellCounts = new Map();  // cell code -> {open, overdue}

function cellStyle(f) {
  const n = cellCounts.get(f.properties?.code) || { open: 0, overdue: 0 };
  const fill = n.overdue ? '#d32f2f' : n.open ? '#fb8c00' : '#9e9e9e';
  return { color: '#555', weight: 1, fillColor: fill, fillOpacity: n.open ? 0.45 : 0.1 };
}

function cellTip(f) {
  const p = f.properties || {};
  const n = cellCounts.get(p.code) || { open: 0, overdue: 0 };
  // An element, not a string: Leaflet would insert a string as HTML.
  return h('span', {}, `${p.name || ''} ${p.code || ''} · ${t('open_n')} ${n.open} · ${t('overdue_n')} ${n.overdue}`);
}

async function loadLayers() {
  let layersMissing = false;
  for (const [name, layer] of [['villages', m.villages], ['cells', m.cells], ['zones', m.zones]]) {
    try {
      const fc = await api(`/api/v1/layers/${name}.geojson`);
      layer.clearLayers();
      layer.addData(fc);
    } catch (e) {
      if (missing(e)) layersMissing = true;
    }
  }
  if (layersMissing) $('#legend').append(h('span', { class: 'hint' }, ` ${t('layers')}: ${t('unavailable')}`));
  const b = m.cells.getBounds();
  if (b.isValid()) m.map.fitBounds(b);
}

// All cases matching the filters (up to 500) as markers, and the per-cell counts.
async function loadMapCases() {
  if (!m.map) return;
  const p = filterQuery();
  p.set('limit', '500');
  let cases = [];
  try { cases = (await api(`/api/v1/cases?${p}`)).cases || []; } catch { return; }
  cellCounts.clear();
  m.markers.clearLayers();
  const L = window.L;
  for (const c of cases) {
    const cell = c.placement?.cell;
    if (cell && OPEN.has(c.status)) {
      const n = cellCounts.get(cell) || { open: 0, overdue: 0 };
      n.open += 1;
      if (isOverdue(c)) n.overdue += 1;
      cellCounts.set(cell, n);
    }
    if (typeof c.lat !== 'number') continue;
    const mk = L.marker([c.lat, c.lon], { title: `${c.number} ${statusName(c.status)}`, keyboard: true });
    mk.on('click', () => openCase(c.id));
    m.markers.addLayer(mk);
  }
  m.cells.setStyle(cellStyle);
}

// ---------- case detail ----------

async function openCase(id) {
  const pane = $('#detail');
  clear(pane).append(h('p', {}, t('loading')));
  try {
    q.current = await api(`/api/v1/cases/${id}`);
  } catch (e) {
    clear(pane).append(h('p', { class: 'error' }, e.message));
    return;
  }
  renderDetail(q.current);
  renderQueue();
  history.replaceState(null, '', `${location.search}#case=${id}`);
  pane.focus();
}

function dl(pairs) {
  const el = h('dl', {});
  for (const [k, v] of pairs) if (v !== undefined && v !== null && v !== '') el.append(h('dt', {}, k), h('dd', {}, v));
  return el;
}

function renderDetail(c) {
  const pane = clear($('#detail'));
  const a = c.assignment || {};
  const pl = c.placement || {};
  const overdue = isOverdue(c);
  pane.append(
    h('div', { class: 'row' },
      h('h2', {}, `${t('detail')} ${c.number}`),
      h('span', { class: `status s-${c.status}` }, statusName(c.status)),
      overdue ? h('span', { class: 'tag-overdue' }, t('overdue')) : null),
    h('p', { class: 'desc', id: 'detail-desc' }, c.description),
    dl([
      [t('category'), categoryName(c.category)],
      [t('received'), fmtTime(c.received_at)],
      [t('accept_by'), fmtTime(a.accept_by)],
      [t('deadline'), fmtTime(a.handle_by)],
      [t('level'), c.level || a.level],
      [t('branch'), a.branch?.name],
      [t('office'), (a.offices || []).map((o) => `${o.name || officeName(o.code)}${o.role === 'co' ? ` (${t('co_office')})` : ''}`).join('、')],
      [t('grid_leader'), a.grid_leader?.name],
      [t('assignee'), c.assignee ? `${c.assignee.name || ''} (${c.assignee.username})` : ''],
      [t('rework_count'), c.rework_count || ''],
    ]),
    h('h3', {}, t('placement')),
    dl([
      [t('cell'), pl.cell],
      [t('village'), villageName(pl.village)],
      [t('zones'), (pl.zones || []).join('、')],
      ['boundary_version', pl.boundary_version],
      [t('outside'), pl.inside === false ? `${pl.nearest_cell} · ${Math.round(pl.distance_m || 0)} ${t('meters')}` : ''],
      ['lon, lat', `${c.lon?.toFixed?.(6)}, ${c.lat?.toFixed?.(6)}`],
    ]));
  const reasons = a.reasons || [];
  if (reasons.length) {
    pane.append(h('h3', {}, t('reasons')), h('ul', { class: 'reasons' }, reasons.map((r) => h('li', {}, r))));
  }
  if ((c.possible_duplicates || []).length) {
    pane.append(h('h3', {}, t('possible_duplicates')), h('ul', { class: 'dups' }, c.possible_duplicates.map((d) =>
      h('li', {}, h('button', { type: 'button', class: 'link', onclick: () => openCase(d.id) }, d.number),
        ` ${Math.round(d.distance_m)} ${t('meters')} · ${statusName(d.status)}`))));
  }
  const photos = h('div', { class: 'photos' });
  pane.append(h('h3', {}, t('photos')), photos);
  loadPhotos(c, photos);
  pane.append(h('h3', {}, t('actions')), actionsBox(c));
  pane.append(h('h3', {}, t('timeline')));
  const ol = h('ol', { class: 'timeline' });
  for (const e of c.events || []) {
    ol.append(h('li', {},
      h('time', {}, fmtTime(e.at)), ' ',
      h('strong', {}, e.action ? actionName(e.action) : statusName(e.to)),
      e.from && e.to && e.from !== e.to ? ` ${statusName(e.from)} → ${statusName(e.to)}` : '',
      e.actor_name || e.actor ? h('span', { class: 'actor' }, ` · ${e.actor_name || e.actor}`) : null,
      e.note ? h('span', { class: 'note' }, e.note) : null));
  }
  pane.append(ol);
}

async function loadPhotos(c, box) {
  let list = c.attachments;
  if (!list) {
    try { list = await api(`/api/v1/cases/${c.id}/attachments`); } catch (e) {
      box.append(h('p', { class: 'hint' }, missing(e) ? t('unavailable') : e.message));
      return;
    }
    if (list && !Array.isArray(list)) list = list.attachments || [];
  }
  if (!list.length) { box.append(h('p', { class: 'hint' }, t('none'))); return; }
  for (const att of list) {
    try {
      const blob = await api(att.url || `/api/v1/cases/${c.id}/attachments/${att.id}`, { blob: true });
      const url = URL.createObjectURL(blob);
      box.append(h('a', { href: url, target: '_blank', rel: 'noopener' }, h('img', { src: url, alt: `${t('photos')} ${att.id}`, class: 'photo' })));
    } catch { box.append(h('span', { class: 'hint' }, `#${att.id}`)); }
  }
}

// One button per allowed action; each opens its own small form.
function actionsBox(c) {
  const box = h('div', { class: 'actions' });
  const allowed = c.allowed_actions;
  if (!Array.isArray(allowed)) { box.append(h('p', { class: 'hint' }, t('unavailable'))); return box; }
  if (!allowed.length) { box.append(h('p', { class: 'hint' }, t('no_actions'))); return box; }
  const formBox = h('div', { class: 'action-form' });
  const buttons = h('div', { class: 'action-buttons' });
  for (const name of allowed) {
    buttons.append(h('button', { type: 'button', class: 'action', dataset: { action: name },
      onclick: () => { clear(formBox).append(actionForm(c, name)); formBox.querySelector('select, input, textarea, button')?.focus(); } },
    actionName(name)));
  }
  box.append(buttons, formBox);
  return box;
}

let formSeq = 0;
function field(label, input) {
  input.id = input.id || `af-${++formSeq}`;
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
}

function actionForm(c, name) {
  const form = h('form', { class: 'card', dataset: { action: name } });
  const extra = {};
  form.append(h('h4', {}, actionName(name)));
  if (name === 'dispatch' || name === 'reassign') {
    const sel = h('select', { name: 'assignee', required: true });
    form.append(field(t('assignee'), sel));
    api('/api/v1/users').then((users) => {
      const list = Array.isArray(users) ? users : users?.users || [];
      sel.append(h('option', { value: '' }, '—'));
      for (const u of list) sel.append(h('option', { value: u.username }, `${u.name || u.username} · ${u.username} · ${u.role}${u.scope ? ` · ${u.scope}` : ''}`));
    }).catch(() => {
      const input = h('input', { name: 'assignee', required: true, id: sel.id });
      sel.replaceWith(input);
    });
    extra.assignee = () => form.elements.assignee.value.trim();
  }
  if (name === 'reject') {
    const sel = h('select', { name: 'reason' },
      ['invalid', 'duplicate', 'not_ours'].map((r) => h('option', { value: r }, t(`reject_${r}`))));
    form.append(field(t('reason'), sel),
      field(t('duplicate_of'), h('input', { name: 'duplicate_of', type: 'number', min: 1 })),
      field(t('referral'), h('input', { name: 'referral' })));
    extra.reason = () => form.elements.reason.value;
    extra.duplicate_of = () => (form.elements.duplicate_of.value ? Number(form.elements.duplicate_of.value) : undefined);
    extra.referral = () => form.elements.referral.value.trim() || undefined;
  }
  if (name === 'escalate') {
    const fs = h('fieldset', {}, h('legend', {}, t('offices')));
    for (const o of ref.offices) {
      fs.append(h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'offices', value: o.code }), ` ${officeName(o.code)}`));
    }
    form.append(fs);
    extra.offices = () => [...form.querySelectorAll('input[name=offices]:checked')].map((i) => i.value);
  }
  if (name === 'request_extension') {
    form.append(field(t('hours'), h('input', { name: 'hours', type: 'number', min: 1, step: 1, required: true })));
    extra.hours = () => Number(form.elements.hours.value);
  }
  if (name === 'verify') {
    const sel = h('select', { name: 'passed' }, h('option', { value: '' }, '—'),
      h('option', { value: 'true' }, actionName('pass')), h('option', { value: 'false' }, actionName('fail')));
    form.append(field(t('passed'), sel));
    extra.passed = () => (sel.value === '' ? undefined : sel.value === 'true');
  }
  if (name === 'confirm') {
    form.append(h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'satisfied', checked: true }), ` ${t('satisfied')}`));
    extra.satisfied = () => form.elements.satisfied.checked;
  }
  if (name === 'handle' || name === 'comment') {
    form.append(field(t('photos'), h('input', { name: 'photos', type: 'file', accept: 'image/*', multiple: true })));
  }
  form.append(field(t('note'), h('textarea', { name: 'note', rows: 2 })));
  const out = h('p', { class: 'error', role: 'alert' });
  form.append(h('div', { class: 'row' },
    h('button', { type: 'submit', class: 'primary' }, t('do_action')),
    h('button', { type: 'button', onclick: () => form.remove() }, t('cancel'))), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { action: name, version: c.version };
    const note = form.elements.note.value.trim();
    if (note) body.note = note;
    for (const [k, get] of Object.entries(extra)) {
      const v = get();
      if (v !== undefined && v !== '') body[k] = v;
    }
    try {
      const files = form.elements.photos?.files || [];
      if (files.length) {
        body.attachments = [];
        for (const f of files) {
          const att = await api(`/api/v1/cases/${c.id}/attachments`, { raw: f, type: f.type || 'image/jpeg' });
          body.attachments.push(att.id);
        }
      }
      const updated = await api(`/api/v1/cases/${c.id}/actions`, { json: body });
      q.current = updated && updated.id ? updated : await api(`/api/v1/cases/${c.id}`);
      if (!q.current.events) q.current = await api(`/api/v1/cases/${c.id}`);
      renderDetail(q.current);
      loadQueue();
    } catch (e) {
      if (e instanceof ApiError && e.status === 409 && e.field === 'version') {
        out.textContent = t('version_conflict');
        setTimeout(() => openCase(c.id), 1200);
      } else {
        out.textContent = missing(e) ? t('unavailable') : e.message;
      }
    }
  });
  return form;
}

// ---------- exports ----------

// Fetches `path` with the token and hands it to the browser as a download.
async function download(b, msg, path, name) {
  msg.textContent = t('loading');
  try {
    const blob = await api(path, { blob: true });
    const url = URL.createObjectURL(blob);
    const link = h('a', { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    msg.textContent = '';
  } catch (e) {
    msg.textContent = missing(e) ? t('unavailable') : e.message;
    if (missing(e)) b.disabled = true;
  }
}

for (const b of document.querySelectorAll('[data-export]')) {
  const kind = b.dataset.export;
  b.addEventListener('click', () => download(b, $('#export-msg'),
    `/api/v1/export/cases.${kind}?${filterQuery()}`, `wangge-cases-${townDay()}.${kind}`));
}

// The last 31 days of patrols up to the chosen date, as CSV.
$('#p-export').addEventListener('click', () => {
  const to = $('#p-at').value || townDay();
  const from = townDay(new Date(Date.parse(`${to}T00:00:00${TOWN_OFFSET}`) - 30 * 86400e3));
  const p = new URLSearchParams({ from: `${from}T00:00:00${TOWN_OFFSET}`, to: `${to}T23:59:59${TOWN_OFFSET}` });
  download($('#p-export'), $('#patrols-summary'), `/api/v1/patrols.csv?${p}`, `wangge-patrols-${to}.csv`);
});

// ---------- statistics ----------

// Periods are the town's calendar (Monday-first weeks), not the browser's zone.
function setPeriod(kind) {
  const now = townClock();
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  let from;
  if (kind === 'week') from = new Date(Date.UTC(y, m, now.getUTCDate() - ((now.getUTCDay() + 6) % 7)));
  if (kind === 'month') from = new Date(Date.UTC(y, m, 1));
  if (kind === 'quarter') from = new Date(Date.UTC(y, Math.floor(m / 3) * 3, 1));
  if (kind === 'year') from = new Date(Date.UTC(y, 0, 1));
  $('#s-from').value = from.toISOString().slice(0, 10);
  $('#s-to').value = now.toISOString().slice(0, 10);
}
for (const b of document.querySelectorAll('[data-period]')) {
  b.addEventListener('click', () => { setPeriod(b.dataset.period); loadStats(); });
}
$('#stats-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadStats(); });

const METRICS = ['received', 'closed', 'on_time', 'reworked', 'overdue', 'mean_hours'];
const METRIC_LABEL = { received: 'received_n', closed: 'closed_n', on_time: 'on_time', reworked: 'reworked', overdue: 'overdue_n', mean_hours: 'mean_hours' };

function groupLabel(group, row) {
  const key = row.key ?? row.code ?? row.group ?? row.id ?? '';
  if (row.name) return row.name;
  if (group === 'office') return officeName(key);
  if (group === 'village') return villageName(key);
  if (group === 'category') return categoryName(key);
  if (group === 'branch') return ref.branches.find((b) => b.code === key)?.name || key;
  return String(key);
}

// Only the latest request draws: clicking a period while the last one loads must not leave two charts.
let statsSeq = 0;
async function loadStats() {
  const seq = ++statsSeq;
  const out = clear($('#stats-out'));
  const group = $('#s-group').value;
  if (!$('#s-from').value) setPeriod('month');
  const p = new URLSearchParams({ group });
  p.set('from', `${$('#s-from').value}T00:00:00${TOWN_OFFSET}`);
  p.set('to', `${$('#s-to').value}T23:59:59${TOWN_OFFSET}`);
  let r;
  try {
    r = await api(`/api/v1/stats?${p}`);
  } catch (e) {
    if (seq !== statsSeq) return;
    out.append(h('p', { class: missing(e) ? 'hint' : 'error' }, missing(e) ? `${t('stats')}: ${t('unavailable')}` : e.message));
    return;
  }
  if (seq !== statsSeq) return;
  const rows = Array.isArray(r) ? r : r.rows || r.groups || r.items || r.stats || [];
  // The known measures first, then any other number the server sends.
  const numeric = new Set();
  for (const row of rows) for (const [k, v] of Object.entries(row)) if (typeof v === 'number' && k !== 'id') numeric.add(k);
  const metrics = [...METRICS.filter((k) => numeric.has(k)), ...[...numeric].filter((k) => !METRICS.includes(k))];
  let shown = metrics.filter((k) => ['received', 'closed', 'overdue'].includes(k));
  if (!shown.length) shown = metrics.slice(0, 3);
  const labels = rows.map((row) => groupLabel(group, row));
  out.append(barChart({
    title: `${t('stats')} · ${$('#s-group').selectedOptions[0].textContent}`,
    labels,
    series: shown.map((k) => ({ name: METRIC_LABEL[k] ? t(METRIC_LABEL[k]) : k, values: rows.map((row) => row[k] || 0) })),
  }));
  const table = h('table', { class: 'stats-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('group_by')), metrics.map((k) => h('th', { scope: 'col' }, METRIC_LABEL[k] ? t(METRIC_LABEL[k]) : k)))),
    h('tbody', {}, rows.map((row, i) => h('tr', {}, h('th', { scope: 'row' }, labels[i]),
      metrics.map((k) => h('td', {}, typeof row[k] === 'number' ? String(Math.round(row[k] * 100) / 100) : ''))))));
  out.append(table);
  if (!rows.length) out.append(h('p', { class: 'hint' }, t('none')));
}

// ---------- patrols (一周三巡、半月全覆盖) ----------

$('#patrols-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadPatrolCoverage(); });

// Each cell's patrols this week against the target and its last patrol;
// cells behind first (not walked in the half month, then fewest this week).
let patrolSeq = 0;
async function loadPatrolCoverage() {
  const seq = ++patrolSeq;
  const out = clear($('#patrols-out'));
  const village = $('#p-village');
  options(village, ref.villages.map((v) => [v.code, v.name]));
  if (!$('#p-at').value) $('#p-at').value = townDay(new Date());
  let r;
  try {
    r = await api(`/api/v1/patrols/coverage?at=${encodeURIComponent(`${$('#p-at').value}T23:59:59${TOWN_OFFSET}`)}`);
  } catch (e) {
    if (seq !== patrolSeq) return;
    out.append(h('p', { class: missing(e) ? 'hint' : 'error' }, missing(e) ? `${t('patrols')}: ${t('unavailable')}` : e.message));
    return;
  }
  if (seq !== patrolSeq) return;
  $('#patrols-summary').textContent =
    `${fmtTime(r.week.from)} – ${fmtTime(r.week.to)} · ${t('weeks_met')} ${r.weeks_met} / ${r.cells_total} · ` +
    `${t('covered_half_month')} ${r.covered} / ${r.cells_total}`;
  const behind = $('#p-behind').checked;
  const rows = r.cells
    .filter((c) => !village.value || c.village === village.value)
    .filter((c) => !behind || !c.week_met || !c.covered)
    .sort((a, b) => (a.covered - b.covered) || (a.this_week - b.this_week) || a.cell.localeCompare(b.cell));
  out.append(h('table', { class: 'stats-table patrol-table' },
    h('thead', {}, h('tr', {}, [t('village'), t('cell'), t('grid_leader'), t('this_week'), t('last_patrol'), t('covered_half_month')]
      .map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, rows.map((c) => h('tr', { 'data-cell': c.cell, class: c.covered ? '' : 'behind' },
      h('td', {}, villageName(c.village)),
      h('th', { scope: 'row' }, c.name),
      h('td', {}, c.leader.name || c.leader.person),
      h('td', { class: c.week_met ? 'met' : '' }, `${c.this_week}/${r.per_week}`),
      h('td', {}, c.last_patrol ? fmtTime(c.last_patrol) : t('never_patrolled')),
      h('td', {}, c.covered ? '✓' : '✗'))))));
  if (!rows.length) out.append(h('p', { class: 'hint' }, t('none')));
}

// ---------- start ----------

let started = false;
async function start() {
  if (!started) {
    started = true;
    await loadReference();
    try { initMap(); } catch (e) { $('#legend').textContent = `${t('map')}: ${e.message}`; }
  }
  const view = location.hash.slice(1);
  go(VIEWS.includes(view) ? view : 'cases');
  loadQueue();
  // A link to one case: /console/#case=123.
  const linked = /^#case=(\d+)$/.exec(location.hash);
  if (linked) openCase(Number(linked[1]));
}

applyI18n();
showView();
