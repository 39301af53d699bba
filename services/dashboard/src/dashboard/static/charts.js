// Small SVG charts drawn from data, with no library: horizontal bars, grouped columns with a line, share bars.
// Every chart is an <svg role="img"> with a <title> naming what it shows, and a table of the same figures beside it
// where the figures matter.
const SVG = "http://www.w3.org/2000/svg";
export const PALETTE = ["#2563eb", "#16a34a", "#ea580c", "#9333ea", "#0891b2", "#ca8a04", "#dc2626", "#4b5563"];

function node(name, attributes = {}, text) {
  const el = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) el.setAttribute(key, String(value));
  if (text !== undefined) el.textContent = text;
  return el;
}

function frame(width, height, label) {
  const svg = node("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart" });
  svg.append(node("title", {}, label));
  return svg;
}

// rows: [{label, value, note}] — one bar each, longest = widest
export function bars(rows, { label, format = String, color = PALETTE[0] } = {}) {
  const height = 22 * rows.length + 6;
  const svg = frame(560, height, label);
  const max = Math.max(1, ...rows.map((r) => r.value));
  rows.forEach((row, i) => {
    const y = 4 + i * 22;
    svg.append(node("text", { x: 0, y: y + 13, class: "axis" }, row.label));
    svg.append(node("rect", { x: 130, y, width: Math.max(1, (200 * row.value) / max), height: 16, fill: color, rx: 2 }));
    svg.append(node("text", { x: 336, y: y + 13, class: "value" }, row.note ?? format(row.value)));
  });
  return svg;
}

// parts: [{label, value}] as one bar of shares, with a legend
export function shareBar(parts, { label, format = String } = {}) {
  const total = parts.reduce((sum, p) => sum + p.value, 0);
  const svg = frame(480, 26 + 18 * Math.ceil(parts.length / 2), label);
  let x = 0;
  parts.forEach((part, i) => {
    const width = total ? (480 * part.value) / total : 0;
    svg.append(node("rect", { x, y: 0, width, height: 18, fill: PALETTE[i % PALETTE.length] }));
    x += width;
    const lx = (i % 2) * 240;
    const ly = 24 + Math.floor(i / 2) * 18;
    svg.append(node("rect", { x: lx, y: ly, width: 10, height: 10, fill: PALETTE[i % PALETTE.length] }));
    const share = total ? part.value / total : 0;
    svg.append(node("text", { x: lx + 14, y: ly + 9, class: "axis" }, `${part.label} ${format(part.value, share)}`));
  });
  return svg;
}

// columns: [{label, values: [..per series]}], series: [{name}]; line: optional [..one per column] drawn over
export function columns(columnsData, series, { label, line, lineName, format = String } = {}) {
  const width = 520;
  const height = 200 + 14 * Math.ceil((series.length + (line ? 1 : 0)) / 2);
  const plot = { x: 44, y: 10, w: width - 54, h: 160 };
  const svg = frame(width, height, label);
  const max = Math.max(1, ...columnsData.flatMap((c) => c.values), ...(line ?? []));
  const step = plot.w / Math.max(1, columnsData.length);
  const barWidth = Math.max(2, (step * 0.8) / Math.max(1, series.length));
  svg.append(node("line", { x1: plot.x, y1: plot.y + plot.h, x2: plot.x + plot.w, y2: plot.y + plot.h, class: "grid" }));
  svg.append(node("text", { x: 0, y: plot.y + 8, class: "axis" }, format(max)));
  svg.append(node("text", { x: 0, y: plot.y + plot.h, class: "axis" }, format(0)));
  columnsData.forEach((column, i) => {
    column.values.forEach((value, s) => {
      const h = (plot.h * value) / max;
      svg.append(node("rect", {
        x: plot.x + i * step + step * 0.1 + s * barWidth, y: plot.y + plot.h - h, width: barWidth, height: h,
        fill: PALETTE[s % PALETTE.length],
      }));
    });
    if (i % Math.max(1, Math.ceil(columnsData.length / 6)) === 0) {  // at most six labels: they never overlap
      svg.append(node("text", { x: plot.x + i * step + step / 2, y: plot.y + plot.h + 14, class: "axis tick" },
        column.label));
    }
  });
  if (line) {
    const points = line.map((v, i) => `${plot.x + i * step + step / 2},${plot.y + plot.h - (plot.h * v) / max}`);
    svg.append(node("polyline", { points: points.join(" "), class: "supply" }));
  }
  const legend = [...series.map((s) => s.name), ...(line ? [lineName] : [])];
  legend.forEach((name, i) => {
    const lx = plot.x + (i % 2) * 240;
    const ly = plot.y + plot.h + 24 + Math.floor(i / 2) * 14;
    const isLine = line && i === legend.length - 1;
    svg.append(isLine
      ? node("line", { x1: lx, y1: ly + 5, x2: lx + 10, y2: ly + 5, class: "supply" })
      : node("rect", { x: lx, y: ly, width: 10, height: 10, fill: PALETTE[i % PALETTE.length] }));
    svg.append(node("text", { x: lx + 14, y: ly + 9, class: "axis" }, name));
  });
  return svg;
}
