// A grouped horizontal bar chart as SVG, drawn with DOM calls (labels via
// textContent), so no chart library and no markup from data.

const NS = 'http://www.w3.org/2000/svg';
const COLORS = ['#1565c0', '#2e7d32', '#c62828', '#ef6c00', '#6a1b9a', '#00838f'];

function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// {title, labels: [..], series: [{name, values: [..]}]} -> <figure>
export function barChart({ title, labels, series }) {
  const bar = 12;
  const gap = 10;
  const labelW = 190;
  const plotW = 480;
  const rowH = Math.max(1, series.length) * bar + gap;
  const legendH = 24;
  const height = legendH + labels.length * rowH + 24;
  const width = labelW + plotW + 60;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', class: 'chart' });
  svg.append(el('title', {}, title));
  series.forEach((s, j) => {
    svg.append(el('rect', { x: labelW + j * 110, y: 4, width: 12, height: 12, fill: COLORS[j % COLORS.length] }));
    svg.append(el('text', { x: labelW + j * 110 + 16, y: 15, 'font-size': 12 }, s.name));
  });
  labels.forEach((label, i) => {
    const y0 = legendH + i * rowH;
    const short = label.length > 14 ? `${label.slice(0, 13)}…` : label;
    const text = el('text', { x: labelW - 6, y: y0 + (rowH - gap) / 2 + 4, 'text-anchor': 'end', 'font-size': 12 }, short);
    text.append(el('title', {}, label));
    svg.append(text);
    series.forEach((s, j) => {
      const v = s.values[i] || 0;
      const w = (v / max) * plotW;
      svg.append(el('rect', { x: labelW, y: y0 + j * bar, width: Math.max(w, v ? 1 : 0), height: bar - 2, fill: COLORS[j % COLORS.length] }));
      svg.append(el('text', { x: labelW + w + 4, y: y0 + j * bar + bar - 3, 'font-size': 10 }, String(Math.round(v * 100) / 100)));
    });
  });
  svg.append(el('line', { x1: labelW, y1: legendH - 2, x2: labelW, y2: height - 20, stroke: '#888' }));
  const fig = document.createElement('figure');
  fig.className = 'chart-fig';
  const cap = document.createElement('figcaption');
  cap.textContent = title;
  fig.append(cap, svg);
  return fig;
}
