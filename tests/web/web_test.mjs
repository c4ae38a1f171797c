// Browser test of /m/ and /console/ (issue 7): starts `wangge serve --demo`
// on a free loopback port in a temporary folder, drives Debian's chromium
// with playwright-core, checks each scenario through the page and through
// the API, writes a screenshot of each page, and stops the server.
//
//   node tests/web/web_test.mjs --wangge build/x/tools/wangge --data data/taiyao \
//        [--screenshots DIR]     (default $WANGGE_SCREENSHOTS or ./web-screenshots)
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
const WANGGE = resolve(arg('wangge', 'build/web/tools/wangge'));
const DATA = resolve(arg('data', 'data/taiyao'));
const SHOTS = resolve(process.env.WANGGE_SCREENSHOTS || arg('screenshots', 'web-screenshots'));
const PASSWORD = 'wangge-demo';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}
function must(ok, what) {
  check(ok, what);
  if (!ok) throw new Error(`stopping: ${what}`);
}

// ---------- the server ----------

const work = mkdtempSync(join(tmpdir(), 'wangge-web-'));
mkdirSync(SHOTS, { recursive: true });
for (const f of readdirSync(SHOTS)) if (f.endsWith('.png')) rmSync(join(SHOTS, f));
console.log(`screenshots: ${SHOTS}`);
const server = spawn(WANGGE, ['serve', '--demo', '--data', DATA, '--listen', '127.0.0.1:0', '--threads', '8'],
  { cwd: work, stdio: ['ignore', 'ignore', 'pipe'] });
let serverLog = '';
const base = await new Promise((ok, fail) => {
  const timer = setTimeout(() => fail(new Error(`server did not start:\n${serverLog}`)), 60000);
  server.stderr.on('data', (d) => {
    serverLog += d;
    const m = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(serverLog);
    if (m) { clearTimeout(timer); ok(m[1]); }
  });
  server.on('exit', (code) => fail(new Error(`server exited with ${code}:\n${serverLog}`)));
});
console.log(`server: ${base}`);

// A GET with the path sent exactly as written (fetch() would resolve `..`).
function rawGet(path) {
  const u = new URL(base);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => {
      res.resume();
      res.on('end', () => ok(res.statusCode));
    });
    req.on('error', fail);
    req.end();
  });
}

async function http(path, opts = {}) {
  const res = await fetch(base + path, { redirect: 'manual', ...opts });
  return res;
}
async function apiAs(tok, path, opts = {}) {
  const headers = { ...(opts.headers || {}), Authorization: `Bearer ${tok}` };
  if (opts.json) headers['Content-Type'] = 'application/json';
  const res = await http(path, { method: opts.method || (opts.json ? 'POST' : 'GET'), headers,
    body: opts.json ? JSON.stringify(opts.json) : undefined });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: res.status, body };
}
async function loginApi(username) {
  const r = await apiAs('', '/api/v1/login', { json: { username, password: PASSWORD } });
  must(r.status === 200, `API login as ${username}`);
  return r.body.token;
}
async function casesWith(tok, text) {
  const r = await apiAs(tok, `/api/v1/cases?limit=500&text=${encodeURIComponent(text)}`);
  return (r.body.cases || []).filter((c) => c.description.includes(text));
}

let browser;
try {
  // ---------- serving ----------
  {
    const r = await http('/m/');
    check(r.status === 200 && r.headers.get('content-type').startsWith('text/html'), '/m/ is HTML');
    const csp = r.headers.get('content-security-policy') || '';
    const scriptSrc = (/script-src ([^;]*)/.exec(csp) || [])[1] || '';
    check(scriptSrc.trim() === "'self'", `CSP forbids inline scripts: ${csp}`);
    check(r.headers.get('x-content-type-options') === 'nosniff', 'nosniff');
    const etag = r.headers.get('etag');
    check(!!etag, `ETag ${etag}`);
    const again = await http('/m/', { headers: { 'If-None-Match': etag } });
    check(again.status === 304, `If-None-Match gives 304 (got ${again.status})`);
    const root = await http('/');
    check(root.status === 302 && root.headers.get('location') === '/console/', '/ redirects to /console/');
    const js = await http('/vendor/leaflet/leaflet.js');
    check(js.status === 200 && js.headers.get('content-type').startsWith('text/javascript'), 'Leaflet served as JavaScript');
    const png = await http('/vendor/leaflet/images/marker-icon.png');
    check(png.status === 200 && png.headers.get('content-type') === 'image/png', 'marker icon is image/png');
    for (const bad of ['/m/%2e%2e/%2e%2e/etc/passwd', '/m/../../etc/passwd', '/console/..%2fm/index.html',
      '/vendor/leaflet/../../package.json', '/m/%2E%2E%5C%2E%2E%5Cetc', '/m/nope.js']) {
      const status = await rawGet(bad);
      check(status === 404, `${bad} is 404 (got ${status})`);
    }
  }

  // A grid leader and a point inside one of their cells.
  const leaderId = 'P0035';
  const leader = leaderId.toLowerCase();
  const cells = JSON.parse(readFileSync(join(DATA, 'cells.geojson'), 'utf8'));
  const cell = cells.features.find((f) => f.properties.leader === leaderId);
  must(!!cell, `sample data has a cell led by ${leaderId}`);
  const ring = cell.geometry.type === 'Polygon' ? cell.geometry.coordinates[0] : cell.geometry.coordinates[0][0];
  const leaderTok = await loginApi(leader);
  let point = null;
  // The vertex average, else points pulled towards it from each vertex.
  const avg = ring.slice(1).reduce((a, p) => [a[0] + p[0] / (ring.length - 1), a[1] + p[1] / (ring.length - 1)], [0, 0]);
  for (const cand of [avg, ...ring.map((p) => [(p[0] + avg[0] * 3) / 4, (p[1] + avg[1] * 3) / 4])]) {
    const r = await apiAs(leaderTok, `/api/v1/locate?lon=${cand[0]}&lat=${cand[1]}`);
    if (r.body.cell === cell.properties.code) { point = cand; break; }
  }
  must(!!point, `found a point inside cell ${cell.properties.code}`);
  const cats = (await apiAs(leaderTok, '/api/v1/categories')).body;
  const group = cats.find((g) => (g.children || []).length);
  const category = group.children[0];

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  const phone = await browser.newContext({
    viewport: { width: 360, height: 640 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
    geolocation: { longitude: point[0], latitude: point[1], accuracy: 12 }, permissions: ['geolocation'],
    locale: 'zh-CN', serviceWorkers: 'allow',
  });
  const m = await phone.newPage();
  const pageErrors = [];
  m.on('pageerror', (e) => pageErrors.push(String(e)));
  m.on('dialog', (d) => { pageErrors.push(`dialog: ${d.message()}`); d.dismiss(); });

  // ---------- /m/: log in ----------
  await m.goto(`${base}/m/`);
  await m.screenshot({ path: join(SHOTS, 'm-login.png'), fullPage: true });
  await m.fill('#login-user', leader);
  await m.fill('#login-pass', PASSWORD);
  await m.click('#login-form button[type=submit]');
  await m.waitForSelector('#app-view:not([hidden])');
  await m.waitForSelector('#cat-list details');
  check(true, '/m/: logged in, categories shown');

  // A photo larger than 2048 px, made by the browser itself.
  const pngBase64 = await m.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 3000; c.height = 2000;
    const g = c.getContext('2d');
    const grad = g.createLinearGradient(0, 0, 3000, 2000);
    grad.addColorStop(0, '#c62828'); grad.addColorStop(1, '#1565c0');
    g.fillStyle = grad; g.fillRect(0, 0, 3000, 2000);
    g.fillStyle = '#fff'; g.font = '200px sans-serif'; g.fillText('wangge', 900, 1100);
    return c.toDataURL('image/png').split(',')[1];
  });
  const photo = { name: 'scene.png', mimeType: 'image/png', buffer: Buffer.from(pngBase64, 'base64') };

  async function fillReport(desc, withPhoto) {
    await m.click('#tab-report');
    await m.fill('#cat-search', category.name.slice(0, 2));
    await m.click(`#cat-list button[data-code="${category.code}"]`);
    await m.fill('#desc', desc);
    if (withPhoto) {
      await m.setInputFiles('#photo-input', photo);
      await m.waitForSelector('#thumbs img');
    }
  }

  // ---------- scenario 1: a report with a photo, online ----------
  const desc1 = `浏览器测试上报 ${Date.now()}`;
  await fillReport(desc1, true);
  const dims = await m.$eval('#thumbs img', (i) => [Number(i.dataset.w), Number(i.dataset.h)]);
  check(dims[0] <= 2048 && dims[1] <= 2048 && Math.max(...dims) === 2048, `photo downscaled to ${dims.join('x')}`);
  await m.waitForFunction(() => document.querySelector('#loc-info').textContent.includes('±'));
  const locText = await m.textContent('#loc-info');
  check(/±12/.test(locText), `position with accuracy shown: ${locText}`);
  await m.waitForFunction((name) => document.querySelector('#preview').textContent.includes(name), cell.properties.name);
  check(true, `preview names the cell ${cell.properties.name}`);
  const scrollW = await m.evaluate(() => document.documentElement.scrollWidth);
  check(scrollW <= 360, `no horizontal scrolling at 360 px (scrollWidth ${scrollW})`);
  await m.screenshot({ path: join(SHOTS, 'm-report.png'), fullPage: true });
  await m.click('#submit');
  await m.waitForFunction(() => /已提交|Sent/.test(document.querySelector('#report-msg').textContent), null, { timeout: 30000 });
  const sent1 = await casesWith(leaderTok, desc1);
  check(sent1.length === 1, `exactly one case for the online report (${sent1.length})`);
  const case1 = sent1[0];
  check(case1 && case1.placement.cell === cell.properties.code, 'the case is placed in the leader\'s cell');
  const atts = await apiAs(leaderTok, `/api/v1/cases/${case1.id}/attachments`);
  if (atts.status === 404 && atts.body?.error?.message?.includes('no such endpoint')) {
    console.log('note: attachments endpoint not in this build; photo upload skipped by the page');
  } else {
    const list = Array.isArray(atts.body) ? atts.body : atts.body.attachments || [];
    check(list.length === 1, `the photo is attached (${JSON.stringify(atts.body).slice(0, 200)})`);
  }

  // ---------- scenario 2: offline, then back online ----------
  const desc2 = `离线上报 ${Date.now()}`;
  await phone.setOffline(true);
  await fillReport(desc2, false);
  await m.click('#submit');
  await m.waitForFunction(() => /已保存|saved/.test(document.querySelector('#report-msg').textContent), null, { timeout: 30000 });
  const queued = await m.evaluate(async () => (await window.wanggeOutbox.all()).length);
  check(queued === 1, `offline: the report waits in the outbox (${queued})`);
  check((await casesWith(leaderTok, desc2)).length === 0, 'offline: the server has no case yet');
  await m.screenshot({ path: join(SHOTS, 'm-offline-queued.png'), fullPage: true });
  // The page itself comes from the service worker while offline.
  let reloaded = false;
  try {
    await m.reload({ waitUntil: 'load' });
    await m.waitForSelector('#app-view:not([hidden])', { timeout: 30000 });
    reloaded = true;
  } catch (e) { console.log(`reload offline: ${e.message.split('\n')[0]}`); }
  check(reloaded, 'offline: the page reloads from the service worker');
  const waiting = await m.evaluate(async () => (await window.wanggeOutbox.all()).map((i) => ({ key: i.key, report: i.report })));
  check(waiting.length === 1, `offline: the outbox survives the reload (${waiting.length})`);
  await phone.setOffline(false);
  const outboxSize = () => m.evaluate(async () => (await window.wanggeOutbox.all()).length);
  const t0 = Date.now();
  while (await outboxSize() > 0 && Date.now() - t0 < 45000) await m.waitForTimeout(250);
  check(await outboxSize() === 0, `back online: the outbox is sent (${Date.now() - t0} ms)`);
  const sent2 = await casesWith(leaderTok, desc2);
  if (sent2.length !== 1) {
    const all = await apiAs(leaderTok, '/api/v1/cases?limit=500');
    console.log(`cases now: ${JSON.stringify((all.body.cases || []).map((x) => x.description))}`);
    console.log(`outbox: ${JSON.stringify(await m.evaluate(async () => (await window.wanggeOutbox.all()).map((i) => ({ ...i, photos: i.photos.length }))))}`);
  }
  check(sent2.length === 1, `back online: exactly one case (${sent2.length})`);
  // The same key again (a retry whose answer was lost) makes no second case.
  const replay = await apiAs(leaderTok, '/api/v1/reports', { json: waiting[0].report,
    headers: { 'Idempotency-Key': waiting[0].key } });
  check(replay.status === 200 && replay.body.id === sent2[0]?.id,
    `the page sent the outbox key: a replay gives the same case (HTTP ${replay.status})`);
  check((await casesWith(leaderTok, desc2)).length === 1, 'still exactly one case');

  // ---------- scenario 3: HTML in a description ----------
  const evil = `<script>alert(1)</script><img src=x onerror="alert(2)"> ${Date.now()}`;
  await fillReport(evil, false);
  await m.click('#submit');
  await m.waitForFunction(() => /已提交|Sent/.test(document.querySelector('#report-msg').textContent), null, { timeout: 30000 });
  const evilCase = (await casesWith(leaderTok, evil))[0];
  must(!!evilCase, 'the HTML description was stored');

  // My reports.
  await m.click('#tab-mine');
  await m.waitForSelector('#mine-list .case-row');
  const mineText = await m.textContent('#mine-list');
  check(mineText.includes(case1.number) && mineText.includes(evil), 'my reports list the cases, HTML as text');
  await m.click(`#mine-list .case-row >> nth=0`);
  await m.waitForSelector('#case-detail .timeline li');
  await m.screenshot({ path: join(SHOTS, 'm-my-reports.png'), fullPage: true });
  const mScroll = await m.evaluate(() => document.documentElement.scrollWidth);
  check(mScroll <= 360, `my reports: no horizontal scrolling (${mScroll})`);
  // ---------- scenario 4: a patrol (一周三巡、半月全覆盖) ----------
  const cellCode = cell.properties.code;
  const cellRow = `#patrol-cells li[data-cell="${cellCode}"]`;
  await m.click('#tab-patrol');
  await m.waitForSelector(cellRow);
  const rowBefore = await m.textContent(cellRow);
  check(/本周 0\/3/.test(rowBefore) && /尚无巡查记录/.test(rowBefore), `patrol: the cell has none this week (${rowBefore})`);
  await m.selectOption('#patrol-cell', cellCode);
  await m.click('#patrol-start');
  await m.waitForSelector('#patrol-end:not([hidden])');
  check(/巡查中/.test(await m.textContent('#patrol-state')), 'patrol: under way');
  // A patrol under way survives the page being reloaded (a phone's browser drops pages).
  await m.reload();
  await m.waitForSelector('#app-view:not([hidden])');
  await m.click('#tab-patrol');
  await m.waitForSelector('#patrol-end:not([hidden])');
  check(await m.$eval('#patrol-cell', (s) => s.value) === cellCode, 'patrol: still under way after a reload, same cell');
  await m.fill('#patrol-note', '沿渠巡查，无异常');
  await m.click('#patrol-end');
  await m.waitForFunction(() => /巡查已记录|Patrol recorded/.test(document.querySelector('#patrol-msg').textContent), null, { timeout: 30000 });
  await m.waitForFunction((sel) => /本周 1\/3/.test(document.querySelector(sel)?.textContent || ''), cellRow, { timeout: 30000 });
  check(!(await m.isVisible('#patrol-end')) && await m.isVisible('#patrol-start'), 'patrol: ended, a new one can start');
  const patrols = (await apiAs(leaderTok, '/api/v1/patrols')).body.patrols || [];
  check(patrols.length === 1 && patrols[0].cell === cellCode && patrols[0].note === '沿渠巡查，无异常' && patrols[0].ended_at,
    `patrol: stored once with its note and end (${JSON.stringify(patrols).slice(0, 300)})`);
  await m.screenshot({ path: join(SHOTS, 'm-patrol.png'), fullPage: true });
  const pScroll = await m.evaluate(() => document.documentElement.scrollWidth);
  check(pScroll <= 360, `patrol: no horizontal scrolling (${pScroll})`);

  // English switch, remembered.
  await m.click('#lang');
  check((await m.textContent('#tab-mine')).includes('My reports'), 'English switch');
  await m.reload();
  await m.waitForSelector('#app-view:not([hidden])');
  check((await m.textContent('#tab-report')).includes('Report'), 'English is remembered');
  await m.click('#lang');

  // ---------- /console/ ----------
  // The desk's browser keeps a zone whose date differs from the town's (+08:00) right now, so pages
  // that took "today" from the browser's zone would miss today's cases.
  const townHour = (new Date().getUTCHours() + 8) % 24;
  const deskZone = townHour < 20 ? 'Etc/GMT+12' : 'Pacific/Kiritimati';
  const townToday = new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  const desk = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'zh-CN', timezoneId: deskZone });
  const c = await desk.newPage();
  c.on('pageerror', (e) => pageErrors.push(String(e)));
  c.on('dialog', (d) => { pageErrors.push(`dialog: ${d.message()}`); d.dismiss(); });
  await c.goto(`${base}/`);
  check(c.url().endsWith('/console/'), '/ opens the console');
  await c.fill('#login-user', 'p0021');
  await c.fill('#login-pass', PASSWORD);
  await c.press('#login-pass', 'Enter');  // keyboard
  await c.waitForSelector('#queue-body tr[data-id]');
  await c.waitForSelector('.leaflet-container');
  check((await c.textContent('#queue-body')).includes(case1.number), 'the dispatcher sees the new case in the queue');
  await c.fill('#f-text', desc1);
  await c.click('#filters button[type=submit]');
  await c.waitForFunction((n) => document.querySelectorAll('#queue-body tr[data-id]').length === 1 &&
    document.querySelector('#queue-body').textContent.includes(n), case1.number);
  check(true, 'text filter finds exactly that case');
  await c.waitForTimeout(800);  // map layers
  await c.screenshot({ path: join(SHOTS, 'console-queue-map.png') });
  await c.focus('#queue-body .open-case');
  await c.keyboard.press('Enter');
  await c.waitForSelector('#detail h2');
  const detail = await c.textContent('#detail');
  check(detail.includes(case1.number) && detail.includes(desc1), 'case detail opens from the keyboard');
  check((await c.$$('#detail .reasons li')).length > 0, 'routing reasons shown');
  await c.screenshot({ path: join(SHOTS, 'console-detail.png') });

  // The HTML description, escaped.
  await c.fill('#f-text', '');
  await c.click('#filters button[type=submit]');
  await c.waitForSelector(`#queue-body tr[data-id="${evilCase.id}"]`);
  await c.click(`#queue-body tr[data-id="${evilCase.id}"] .open-case`);
  await c.waitForSelector('#detail-desc');
  const shown = await c.$eval('#detail-desc', (e) => ({ text: e.textContent, elements: e.querySelectorAll('*').length }));
  check(shown.text === evil && shown.elements === 0, 'HTML in a description shows as text');
  check((await c.$$('#detail script, #queue-body script, #detail img[src=x]')).length === 0, 'no injected elements');
  await c.screenshot({ path: join(SHOTS, 'console-escaped.png') });

  // ---------- workflow, if the server has it ----------
  const dispTok = await loginApi('p0021');
  const full = (await apiAs(dispTok, `/api/v1/cases/${case1.id}`)).body;
  let closed = false;
  if (Array.isArray(full.allowed_actions)) {
    closed = await runWorkflow(c, case1, dispTok, photo);
  } else {
    console.log('note: the server has no workflow actions yet; the detail shows 暂不可用');
  }

  // ---------- the reporter confirms on the phone ----------
  if (closed) {
    await m.click('#tab-mine');
    await m.click(`#mine-list .case-row:has-text("${case1.number}")`);
    await m.waitForSelector('#case-detail .confirm button.primary');
    await m.screenshot({ path: join(SHOTS, 'm-confirm.png'), fullPage: true });
    await m.fill('#confirm-note', '处理及时，满意');
    await m.click('#case-detail .confirm button.primary');
    await m.waitForFunction(() => !document.querySelector('#case-detail .confirm'), null, { timeout: 30000 });
    const after = (await apiAs(leaderTok, `/api/v1/cases/${case1.id}`)).body;
    check(after.status === 'closed' && !(after.allowed_actions || []).includes('confirm'),
      `the reporter confirmed on the phone (status ${after.status}, evaluation ${JSON.stringify(after.evaluation)})`);
  }

  // ---------- exports ----------
  await c.click('#nav-cases');
  const csv = await apiAs(dispTok, '/api/v1/export/cases.csv');
  if (csv.status === 200) {
    await c.fill('#f-text', '');
    const [download] = await Promise.all([c.waitForEvent('download'), c.click('[data-export="csv"]')]);
    const text = readFileSync(await download.path(), 'utf8');
    check(text.includes(case1.number), `export CSV from the console holds the case (${download.suggestedFilename()})`);
    check(download.suggestedFilename() === `wangge-cases-${townToday}.csv`, `the export is named by the town's date ${townToday} (browser in ${deskZone})`);
  } else {
    await c.click('[data-export="csv"]');
    await c.waitForFunction(() => /暂不可用|Not available/.test(document.querySelector('#export-msg').textContent));
    check(true, 'exports: 暂不可用 without the endpoint');
  }

  // ---------- statistics ----------
  // The view's own load (this month) answers after the period's (this year): only the latest draws.
  let statsLoads = 0;
  const bothAnswered = new Promise((done) => {
    c.on('requestfinished', (r) => { if (r.url().includes('/api/v1/stats?') && ++statsLoads === 2) done(); });
  });
  await c.route('**/api/v1/stats?*', async (route) => {
    if (statsLoads === 0 && !route.request().url().includes('-01-01T')) await new Promise((r) => setTimeout(r, 1000));
    await route.continue();
  });
  await c.click('#nav-stats');
  await c.click('[data-period="year"]');
  await bothAnswered;
  await c.unroute('**/api/v1/stats?*');
  await c.waitForFunction(() => document.querySelector('#stats-out').childElementCount > 0, null, { timeout: 30000 });
  const statsText = await c.textContent('#stats-out');
  check((await c.$$('#stats-out svg')).length === 1, 'statistics: one chart after switching the period');
  check(await c.inputValue('#s-to') === townToday, `statistics run to the town's today ${townToday}, not the browser's`);
  const statsApi = await apiAs(dispTok, '/api/v1/stats?group=branch');
  if (statsApi.status === 200) {
    check((await c.$$('#stats-out svg rect')).length > 0, 'statistics: a bar chart');
    if (closed) {
      const branchName = (await apiAs(dispTok, '/api/v1/branches')).body.find((b) => b.code === cell.properties.branch)?.name;
      check(statsText.includes(branchName || '??'), `statistics show the case's branch ${branchName}`);
    }
  } else {
    check(/暂不可用|Not available/.test(statsText), 'statistics: shows 暂不可用 without the endpoint');
  }
  await c.screenshot({ path: join(SHOTS, 'console-stats.png'), fullPage: true });

  // Patrol coverage: the phone's patrol counts for its cell, the rest of the town is behind.
  await c.click('#nav-patrols');
  const patrolRow = `#patrols-out tr[data-cell="${cellCode}"]`;
  await c.waitForSelector(patrolRow, { timeout: 30000 });
  const rowText = await c.textContent(patrolRow);
  check(/1\/3/.test(rowText) && rowText.includes(cell.properties.name), `console patrols: the cell shows 1/3 (${rowText})`);
  const summary = await c.textContent('#patrols-summary');
  check(/半月内已巡 1 \/ 225|Walked in 15 days 1 \/ 225/.test(summary), `console patrols: 1 of 225 walked (${summary})`);
  const behindRows = await c.$$eval('#patrols-out tr.behind', (rows) => rows.length);
  check(behindRows === 224, `console patrols: the 224 cells not walked are marked (${behindRows})`);
  check(await c.$eval('#patrols-out tbody tr:last-child', (tr) => tr.dataset.cell) === cellCode,
    'console patrols: cells behind come first');
  const [csvDownload] = await Promise.all([c.waitForEvent('download', { timeout: 30000 }), c.click('#p-export')]);
  const csvText = readFileSync(await csvDownload.path(), 'utf8');
  check(csvText.startsWith('\uFEFF网格编码') && csvText.includes('沿渠巡查，无异常') && csvDownload.suggestedFilename().endsWith('.csv'),
    `console patrols: the CSV export holds the patrol (${csvDownload.suggestedFilename()}, ${csvText.length} chars)`);
  await c.screenshot({ path: join(SHOTS, 'console-patrols.png'), fullPage: false });
  check(/#patrols$/.test(c.url()), 'console patrols: the view is in the address');

  check(pageErrors.length === 0, `no script errors or dialogs in the pages ${JSON.stringify(pageErrors)}`);
} catch (e) {
  failures += 1;
  console.log(`FAIL ${e.stack || e}`);
  // Where each open page was when it failed.
  for (const [i, ctx] of (browser?.contexts() || []).entries()) {
    for (const [j, page] of ctx.pages().entries()) {
      await page.screenshot({ path: join(SHOTS, `failure-${i}-${j}.png`), fullPage: true }).catch(() => {});
    }
  }
} finally {
  if (browser) await browser.close().catch(() => {});
  server.kill('SIGTERM');
  await new Promise((r) => { server.once('exit', r); setTimeout(r, 5000); });
  rmSync(work, { recursive: true, force: true });
}
console.log(`screenshots: ${SHOTS}`);
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);

// Dispatch → start → handle → verify → pass through the console's buttons,
// each as the user the server allows. Returns whether the case closed.
async function runWorkflow(c, kase, dispTok, photo) {
  async function act(page, name, fill) {
    await page.waitForSelector(`#detail button.action[data-action="${name}"]`, { timeout: 30000 });
    await page.click(`#detail button.action[data-action="${name}"]`);
    const form = `#detail form[data-action="${name}"]`;
    await page.waitForSelector(form);
    if (fill) await fill(form);
    await page.click(`${form} button[type=submit]`);
    await page.waitForFunction((f) => !document.querySelector(f), form, { timeout: 30000 });
  }
  // The dispatcher through the queue; others by the case's link.
  async function open(page, byLink) {
    if (byLink) {
      await page.goto(`${base}/console/#case=${kase.id}`);
      await page.reload();
      await page.waitForSelector(`#detail h2:has-text("${kase.number}")`);
      await page.waitForSelector('#detail .actions');
      return;
    }
    await page.click('#nav-cases');
    await page.fill('#f-text', kase.description);
    await page.click('#filters button[type=submit]');
    await page.waitForSelector(`#queue-body tr[data-id="${kase.id}"]`);
    await page.click(`#queue-body tr[data-id="${kase.id}"] .open-case`);
    await page.waitForSelector(`#detail h2:has-text("${kase.number}")`);
    await page.waitForSelector('#detail .actions');
  }
  const status = async () => (await apiAs(dispTok, `/api/v1/cases/${kase.id}`)).body.status;
  await open(c);
  if ((await c.$$('#detail button.action[data-action="accept"]')).length) await act(c, 'accept');
  let assignee = '';
  await act(c, 'dispatch', async (form) => {
    await c.waitForFunction((f) => document.querySelector(`${f} select[name=assignee] option[value]:not([value=""])`), form);
    const users = (await apiAs(dispTok, '/api/v1/users')).body;
    const list = Array.isArray(users) ? users : users.users;
    const office = (kase.assignment?.offices || [])[0]?.code;
    const pick = list.find((u) => u.role === 'office' && u.scope === office) ||
      list.find((u) => u.role === 'office') || list.find((u) => u.role === 'branch') || list[0];
    assignee = pick.username;
    await c.selectOption(`${form} select[name=assignee]`, assignee);
  });
  check(await status() === 'dispatched', `console: dispatched to ${assignee} (${await status()})`);
  await c.screenshot({ path: join(SHOTS, 'console-dispatched.png') });
  // The assignee logs in to the console and handles it.
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const a = await ctx.newPage();
  await a.goto(`${base}/console/`);
  await a.fill('#login-user', assignee);
  await a.fill('#login-pass', PASSWORD);
  await a.click('#login-form button[type=submit]');
  await a.waitForSelector('#queue-body tr');
  await open(a, true);
  if ((await a.$$('#detail button.action[data-action="start"]')).length) await act(a, 'start');
  await open(a, true);
  await act(a, 'handle', async (form) => {
    await a.fill(`${form} textarea[name=note]`, '已处理完毕');
    await a.setInputFiles(`${form} input[name=photos]`, photo);
  });
  check(await status() === 'handled', `assignee handled it (${await status()})`);
  await a.screenshot({ path: join(SHOTS, 'console-handled.png') });
  await ctx.close();
  await open(c);
  await act(c, 'verify', async (form) => { await c.selectOption(`${form} select[name=passed]`, 'true').catch(() => {}); });
  if (await status() === 'verifying') { await open(c); await act(c, 'pass'); }
  const final = await status();
  check(final === 'closed', `dispatcher verified and closed it (${final})`);
  await c.screenshot({ path: join(SHOTS, 'console-closed.png') });
  return final === 'closed';
}
