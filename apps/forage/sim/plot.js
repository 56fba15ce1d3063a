// plot.js — owns the charts: a small line-chart renderer that writes SVG
// (title, axis labels, ticks, legend) and converts it to PNG with
// rsvg-convert (Debian package librsvg2-bin). Without rsvg-convert it
// keeps the SVG and says so.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

export const COLORS = { thompson: '#1f77b4', 'epsilon-greedy': '#d62728', random: '#7f7f7f' };

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceStep(range, target) {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

// series: [{ name, color, points: [[x, y]], dash }]
export function lineChartSvg({ title, subtitle = '', xLabel, yLabel, series, yMin = 0, yMax = null, yFormat = (v) => String(v) }) {
  const W = 900, H = 540;
  const m = { left: 90, right: 200, top: 70, bottom: 70 };
  const pw = W - m.left - m.right, ph = H - m.top - m.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const xMin = Math.min(...xs), xMax = Math.max(...xs);
  let top = yMax ?? Math.max(...ys);
  if (!(top > yMin)) top = yMin + 1;
  const yStep = niceStep(top - yMin, 6);
  top = Math.ceil(top / yStep - 1e-9) * yStep;
  const X = (x) => m.left + ((x - xMin) / (xMax - xMin || 1)) * pw;
  const Y = (y) => m.top + ph - ((y - yMin) / (top - yMin)) * ph;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Arial, sans-serif">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="32" font-size="20" font-weight="bold" text-anchor="middle">${esc(title)}</text>`);
  if (subtitle) out.push(`<text x="${m.left + pw / 2}" y="54" font-size="13" fill="#444" text-anchor="middle">${esc(subtitle)}</text>`);
  // grid and y ticks
  for (let v = yMin; v <= top + 1e-9; v += yStep) {
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${m.left - 8}" y="${Y(v) + 4}" font-size="13" text-anchor="end">${esc(yFormat(+v.toFixed(6)))}</text>`);
  }
  // x ticks (integers)
  const xStep = Math.max(1, Math.round(niceStep(xMax - xMin || 1, 10)));
  for (let v = Math.ceil(xMin); v <= xMax; v += xStep) {
    out.push(`<line x1="${X(v)}" x2="${X(v)}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${X(v)}" y="${m.top + ph + 22}" font-size="13" text-anchor="middle">${v}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 20}" font-size="15" text-anchor="middle">${esc(xLabel)}</text>`);
  out.push(`<text transform="translate(24 ${m.top + ph / 2}) rotate(-90)" font-size="15" text-anchor="middle">${esc(yLabel)}</text>`);
  // lines
  for (const s of series) {
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    for (const p of s.points) out.push(`<circle cx="${X(p[0]).toFixed(1)}" cy="${Y(p[1]).toFixed(1)}" r="3.5" fill="${s.color}"/>`);
  }
  // legend
  const lx = m.left + pw + 20;
  out.push(`<text x="${lx}" y="${m.top + 6}" font-size="14" font-weight="bold">Strategy</text>`);
  series.forEach((s, i) => {
    const y = m.top + 30 + i * 26;
    out.push(`<line x1="${lx}" x2="${lx + 30}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    out.push(`<circle cx="${lx + 15}" cy="${y}" r="3.5" fill="${s.color}"/>`);
    out.push(`<text x="${lx + 38}" y="${y + 5}" font-size="14">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}

export function hasRsvg() {
  const r = spawnSync('rsvg-convert', ['--version'], { encoding: 'utf8' });
  return r.status === 0;
}

// Write the chart as PNG (via SVG); returns the path written.
export function writeChart(pngPath, spec) {
  const svg = lineChartSvg(spec);
  if (!hasRsvg()) {
    const svgPath = pngPath.replace(/\.png$/, '.svg');
    fs.writeFileSync(svgPath, svg);
    console.warn(`rsvg-convert not found (Debian package librsvg2-bin): wrote ${svgPath} instead of ${pngPath}`);
    return svgPath;
  }
  const r = spawnSync('rsvg-convert', ['-f', 'png', '-o', pngPath], { input: svg });
  if (r.status !== 0) throw new Error(`rsvg-convert failed: ${r.stderr}`);
  return pngPath;
}
