// Small DOM helpers. User data only ever goes in through textContent or
// attribute setters, never through innerHTML.

// h('button', {class: 'x', onclick: f}, 'text', child, ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function $(sel, root = document) { return root.querySelector(sel); }

// The town keeps China Standard Time (+08:00, no daylight saving) whatever zone the browser is set
// to: dates typed or shown on the pages are the town's, as in the server's timestamps.
export const TOWN_OFFSET = '+08:00';
const TOWN_MS = 8 * 3600 * 1000;

// The town's calendar fields of a moment, as a Date whose UTC getters read them.
export function townClock(d = new Date()) { return new Date(d.getTime() + TOWN_MS); }

const pad2 = (n) => String(n).padStart(2, '0');

// "2026-11-30": the town's date of a moment (today by default).
export function townDay(d = new Date()) {
  const t = townClock(d);
  return `${t.getUTCFullYear()}-${pad2(t.getUTCMonth() + 1)}-${pad2(t.getUTCDate())}`;
}

// A moment from an ISO string, or from "YYYY-MM-DD HH:MM:SS" read as the town's time.
export function parseTime(s) {
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${String(s).replace(' ', 'T')}${TOWN_OFFSET}`);
}

// "2026-11-30 15:20" in the town's time.
export function fmtTime(s) {
  if (!s) return '';
  const d = parseTime(s);
  if (Number.isNaN(d.getTime())) return String(s);
  const t = townClock(d);
  return `${townDay(d)} ${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}`;
}

// A UUID, from crypto.randomUUID where the page is a secure context.
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
