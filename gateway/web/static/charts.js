// Pictures for what people would rather look at than read: a line chart over time (price history, exposure per
// counterparty) and a repo's timeline from open to close. Plain SVG built element by element (no library, nothing
// parsed as markup, no inline style: the page's CSP holds). Each picture is a <figure> whose <svg> has a title and
// a description in words, and the numbers stay readable as a table beside it (a screen reader, a copy into a sheet).
// Coordinates are floats; every label is the API's own decimal string.
import { element } from "/app/static/dom.js";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 220;
const PAD = { left: 72, right: 16, top: 12, bottom: 28 };
const COLOURS = ["#0b3d91", "#b35c00", "#1b7f3b", "#8a1c7c", "#a40000", "#4d4d4d"]; // 4.5:1 or more on white
let figures = 0;

function svg(tag, attributes = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

const when = (ms) => new Date(ms).toISOString().replace("T", " ").slice(0, 16);

// The frame of a picture: <figure> with a caption, an <svg role="img"> named by its title and described.
function frame(caption, description) {
  const id = `chart-${++figures}`;
  const picture = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": `${id}-t ${id}-d`, class: "chart" });
  picture.append(svg("title", { id: `${id}-t` }, caption), svg("desc", { id: `${id}-d` }, description));
  const figure = element("figure");
  figure.append(picture, element("figcaption", caption));
  return { figure, picture };
}

// A table of the same numbers, folded under the picture.
function numbers(headers, rows) {
  const details = element("details");
  details.append(element("summary", "The numbers"));
  const table = element("table");
  const head = element("tr");
  for (const h of headers) head.append(element("th", h, { scope: "col" }));
  table.append(element("thead"), element("tbody"));
  table.tHead.append(head);
  for (const row of rows) {
    const tr = element("tr");
    for (const value of row) tr.append(element("td", value));
    table.tBodies[0].append(tr);
  }
  details.append(table);
  return details;
}

// Lines over time. series: [{name, points: [{at: ms, value: Number, label: string}]}]; the y axis shows `unit`.
export function lineChart(caption, series, unit) {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) {
    const empty = element("figure");
    empty.append(element("figcaption", `${caption}: nothing to draw yet.`));
    return empty;
  }
  const xs = all.map((p) => p.at);
  const ys = all.map((p) => p.value);
  let [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 - 60_000, x1 + 60_000];
  if (y0 === y1) [y0, y1] = [y0 - Math.abs(y0 || 1) * 0.01, y1 + Math.abs(y1 || 1) * 0.01];
  const x = (at) => PAD.left + ((at - x0) / (x1 - x0)) * (WIDTH - PAD.left - PAD.right);
  const y = (v) => HEIGHT - PAD.bottom - ((v - y0) / (y1 - y0)) * (HEIGHT - PAD.top - PAD.bottom);
  const last = series.map((s) => (s.points.length ? `${s.name} last ${s.points[s.points.length - 1].label}` : `${s.name} none`));
  const { figure, picture } = frame(caption, `From ${when(x0)} to ${when(x1)} UTC, ${unit}: ${last.join("; ")}.`);
  picture.append(
    svg("line", { x1: PAD.left, y1: HEIGHT - PAD.bottom, x2: WIDTH - PAD.right, y2: HEIGHT - PAD.bottom, class: "axis" }),
    svg("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: HEIGHT - PAD.bottom, class: "axis" }),
    svg("text", { x: PAD.left - 6, y: y(y1) + 4, "text-anchor": "end", class: "tick" }, String(y1)),
    svg("text", { x: PAD.left - 6, y: y(y0) + 4, "text-anchor": "end", class: "tick" }, String(y0)),
    svg("text", { x: PAD.left, y: HEIGHT - 8, class: "tick" }, when(x0)),
    svg("text", { x: WIDTH - PAD.right, y: HEIGHT - 8, "text-anchor": "end", class: "tick" }, when(x1)),
  );
  if (y0 < 0 && y1 > 0) picture.append(svg("line", { x1: PAD.left, y1: y(0), x2: WIDTH - PAD.right, y2: y(0), class: "zero" }));
  series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const path = s.points.map((p) => `${x(p.at).toFixed(1)},${y(p.value).toFixed(1)}`).join(" ");
    picture.append(svg("polyline", { points: path, fill: "none", stroke: colour, "stroke-width": 2 }));
    for (const p of s.points) picture.append(svg("circle", { cx: x(p.at).toFixed(1), cy: y(p.value).toFixed(1), r: 3, fill: colour }));
  });
  const legend = element("ul", undefined, { class: "legend" });
  series.forEach((s, i) => legend.append(element("li", s.name, { "data-colour": String(i % COLOURS.length) })));
  const rows = series.flatMap((s) => s.points.map((p) => [s.name, when(p.at), p.label]));
  figure.append(legend, numbers(["Series", "At (UTC)", unit], rows));
  return figure;
}

// A repo's life on one line: opened at the left, maturity (or now, for an open repo) at the right, each event a mark.
// events: [{at: ms, label: string}].
export function timelineChart(caption, start, end, events) {
  const stop = Math.max(end, ...events.map((e) => e.at), start + 1);
  const x = (at) => PAD.left + ((at - start) / (stop - start)) * (WIDTH - PAD.left - PAD.right);
  const words = events.map((e) => `${e.label} at ${when(e.at)}`).join("; ");
  const { figure, picture } = frame(caption, `From ${when(start)} to ${when(stop)} UTC: ${words || "no events"}.`);
  const line = HEIGHT / 2;
  picture.append(
    svg("line", { x1: PAD.left, y1: line, x2: WIDTH - PAD.right, y2: line, class: "axis" }),
    svg("text", { x: PAD.left, y: HEIGHT - 8, class: "tick" }, when(start)),
    svg("text", { x: WIDTH - PAD.right, y: HEIGHT - 8, "text-anchor": "end", class: "tick" }, when(stop)),
  );
  events.forEach((e, i) => {
    const cx = x(e.at).toFixed(1);
    const above = i % 2 === 0;
    picture.append(
      svg("circle", { cx, cy: line, r: 5, fill: COLOURS[0], class: "event" }),
      svg("line", { x1: cx, y1: line, x2: cx, y2: above ? line - 30 - (i % 4) * 12 : line + 30 + (i % 4) * 12, class: "stem" }),
      svg("text", { x: cx, y: above ? line - 34 - (i % 4) * 12 : line + 42 + (i % 4) * 12, "text-anchor": "middle", class: "tick" }, e.label),
    );
  });
  return figure;
}
