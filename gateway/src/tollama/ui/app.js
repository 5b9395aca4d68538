// tollama playground: calls the public API of the gateway that serves it, nothing else.
"use strict";

const $ = (id) => document.getElementById(id);
const MAX_CHARTS = 4;
const KEY = "tollama.apiKey";
let lastResult = null;

function headers(json) {
  const h = {};
  if (json) h["content-type"] = "application/json";
  const key = sessionStorage.getItem(KEY);
  if (key) h.authorization = "Bearer " + key;
  return h;
}

async function api(method, path, body) {
  const resp = await fetch(path, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await resp.json().catch(() => ({ error: "HTTP " + resp.status }));
  if (!resp.ok) throw Object.assign(new Error(data.error || "HTTP " + resp.status), { code: data.code });
  return data;
}

function status(el, text, isError) {
  el.textContent = text;
  el.className = isError ? "error" : "";
}

// -- CSV: long format (id, timestamp, value) or one column of numbers ---------------------------
const ID = ["id", "unique_id", "series", "series_id", "item_id"], TIME = ["timestamp", "ds", "date", "time", "datetime"], VALUE = ["value", "y", "target"];

function parseCsv(text) {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l);
  if (!lines.length) throw new Error("no data: paste or upload a CSV");
  const first = lines[0].split(",").map((c) => c.trim());
  if (first.length === 1 && !isNaN(parseFloat(first[0]))) {
    return [{ id: "series", target: lines.map((l, i) => number(l, i + 1)) }];
  }
  const header = first.map((h) => h.toLowerCase());
  const pick = (names) => names.map((n) => header.indexOf(n)).find((i) => i >= 0);
  const idCol = pick(ID), timeCol = pick(TIME);
  let valueCol = pick(VALUE);
  if (valueCol === undefined && header.length === 1) valueCol = 0;
  if (valueCol === undefined) throw new Error("no value column: name one of " + VALUE.join(", ") + " (columns: " + first.join(", ") + ")");
  const series = new Map();
  lines.slice(1).forEach((line, i) => {
    const cells = line.split(",").map((c) => c.trim());
    const id = idCol === undefined ? "series" : cells[idCol];
    if (!series.has(id)) series.set(id, { id, target: [], ...(timeCol === undefined ? {} : { timestamps: [] }) });
    const s = series.get(id);
    s.target.push(cells[valueCol] === "" ? null : number(cells[valueCol], i + 2));
    if (timeCol !== undefined) s.timestamps.push(cells[timeCol]);
  });
  return [...series.values()];
}

function number(cell, line) {
  const v = Number(cell);
  if (cell === "" || !Number.isFinite(v)) throw new Error("line " + line + ": " + JSON.stringify(cell) + " is not a number");
  return v;
}

// -- forecast -----------------------------------------------------------------------------------
async function runForecast() {
  const st = $("status");
  try {
    const series = parseCsv($("data").value);
    const request = { model: $("model").value, series, horizon: parseInt($("horizon").value, 10) };
    const qs = $("quantiles").value.trim();
    if (qs) request.quantiles = qs.split(",").map(Number);
    status(st, "forecasting …");
    const resp = await api("POST", "/api/forecast", request);
    lastResult = { series, resp };
    draw(series, resp);
    status(st, `${resp.model} (${resp.family} on ${resp.device}): ${resp.forecasts.length} series in ${Math.round(resp.total_ms)} ms` +
      (resp.warnings.length ? " — " + resp.warnings.join("; ") : ""));
  } catch (e) {
    status(st, (e.code ? e.code + ": " : "") + e.message, true);
  }
}

function band(resp) {
  const levels = resp.quantiles.map(String).sort((a, b) => a - b);
  return levels.length >= 2 ? [levels[0], levels[levels.length - 1]] : null;
}

function draw(series, resp) {
  $("result").hidden = false;
  const charts = $("charts");
  charts.replaceChildren();
  const byId = new Map(series.map((s) => [String(s.id), s]));
  const b = band(resp);
  resp.forecasts.slice(0, MAX_CHARTS).forEach((f) => {
    const hist = (byId.get(String(f.id)) || { target: [] }).target;
    const h = f.mean.length, n = hist.length;
    const labels = [...((byId.get(String(f.id)) || {}).timestamps || hist.map((_, i) => String(i - n))), ...(f.timestamps || f.mean.map((_, i) => String(i + 1)))];
    const xs = labels.map((_, i) => i);
    const pad = (arr, before) => [...Array(before).fill(null), ...arr];
    const data = [xs, [...hist, ...Array(h).fill(null)], pad(f.mean, n)];
    const value = (u, v) => (v == null ? "–" : String(v));  // the legend shows the numbers as answered
    const sers = [{ value: (u, i) => labels[i] ?? "" }, { label: "history", stroke: "#2b6cb0", value }, { label: "forecast", stroke: "#dd6b20", width: 2, value }];
    const opts = { title: String(f.id), width: Math.min(1050, charts.clientWidth || 900), height: 260, series: sers,
      axes: [{ space: 90, values: (u, splits) => splits.map((i) => labels[i] ?? "") }, {}], scales: { x: { time: false } } };
    if (b) {
      data.push(pad(f.quantiles[b[1]], n), pad(f.quantiles[b[0]], n));
      sers.push({ label: "q" + b[1], stroke: "#aaa", value }, { label: "q" + b[0], stroke: "#aaa", value });
      opts.bands = [{ series: [3, 4], fill: "rgba(221,107,32,0.15)" }];
    }
    const div = document.createElement("div");
    div.className = "chart";
    div.dataset.series = String(f.id);
    charts.appendChild(div);
    new uPlot(opts, data, div);
  });
  if (resp.forecasts.length > MAX_CHARTS) {
    const p = document.createElement("p");
    p.textContent = `${resp.forecasts.length - MAX_CHARTS} more series in the table (charts for the first ${MAX_CHARTS})`;
    charts.appendChild(p);
  }
  table(resp);
}

function rows(resp) {
  const levels = resp.quantiles.map(String);
  const out = [["id", "timestamp", "mean", ...levels.map((l) => "q" + l)]];
  for (const f of resp.forecasts) {
    f.mean.forEach((m, i) => out.push([f.id, f.timestamps ? f.timestamps[i] : String(i + 1), m, ...levels.map((l) => f.quantiles[l][i])]));
  }
  return out;
}

function table(resp) {
  const [head, ...body] = rows(resp);
  $("table").tHead.replaceChildren(tr(head, "th"));
  $("table").tBodies[0].replaceChildren(...body.map((r) => tr(r, "td")));
}

function download() {
  if (!lastResult) return;
  const csv = rows(lastResult.resp).map((r) => r.map((c) => /[",\n]/.test(String(c)) ? '"' + String(c).replace(/"/g, '""') + '"' : String(c)).join(",")).join("\n") + "\n";
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([csv], { type: "text/csv" }));
  a.download = "forecast.csv";
  a.click();
  URL.revokeObjectURL(a.href);
}

// -- evaluate: a leaderboard on the pasted data (POST /api/evaluate) ----------------------------
function tr(cells, tag) {
  const row = document.createElement("tr");
  cells.forEach((c) => { const td = document.createElement(tag); td.textContent = String(c); row.appendChild(td); });
  return row;
}

async function runEvaluate() {
  const st = $("eval-status");
  try {
    const models = $("eval-models").value.split(",").map((m) => m.trim()).filter((m) => m);
    if (!models.length) throw new Error("name the models to compare, comma separated");
    const request = { models, series: parseCsv($("data").value), horizon: parseInt($("horizon").value, 10),
      windows: parseInt($("eval-windows").value, 10), metrics: $("eval-metrics").value.split(",").map((m) => m.trim()).filter((m) => m) };
    const qs = $("quantiles").value.trim();
    if (qs) request.quantiles = qs.split(",").map(Number);
    status(st, "evaluating …");
    const resp = await api("POST", "/api/evaluate", request);
    const head = ["rank", "model", ...resp.metrics, "win rate", "skill", "ms"];
    const shown = (v) => (v == null ? "–" : String(v));
    const lb = $("leaderboard");
    lb.tHead.replaceChildren(tr(head, "th"));
    lb.tBodies[0].replaceChildren(...resp.leaderboard.map((r) => tr([r.rank, r.model, ...resp.metrics.map((m) => shown(r.metrics[m])),
      shown(r.win_rate), shown(r.skill), Math.round(r.inference_ms)], "td")));
    lb.hidden = false;
    const warnings = [...resp.warnings, ...resp.leaderboard.flatMap((r) => r.warnings.map((w) => r.model + ": " + w))];
    status(st, `${resp.windows} window(s) of ${resp.horizon} steps, ${models.length} models in ${Math.round(resp.total_ms)} ms` +
      (warnings.length ? " — " + warnings.join("; ") : ""));
  } catch (e) {
    status(st, (e.code ? e.code + ": " : "") + e.message, true);
  }
}

// -- models and pulls ---------------------------------------------------------------------------
const FLAGS = [["multivariate", "multivariate"], ["past_covariates", "past cov."], ["future_covariates", "future cov."], ["static_covariates", "static cov."], ["missing_values", "missing values"]];

async function loadModels() {
  try {
    const [tags, info] = await Promise.all([api("GET", "/api/tags"), api("GET", "/api/info")]);
    const select = $("model"), keep = select.value;
    select.replaceChildren(...tags.models.map((m) => new Option(m.name, m.name)));
    if (keep && tags.models.some((m) => m.name === keep)) select.value = keep;
    $("models").tBodies[0].replaceChildren(...info.models.map((m) => {
      const row = document.createElement("tr");
      const caps = m.capabilities;
      [m.name, m.family, m.parameters, caps.max_context, caps.max_horizon, FLAGS.filter(([k]) => caps[k]).map(([, l]) => l).join(", "),
        m.license + (m.license_acceptance ? " (accept)" : ""), m.installed ? "yes" : ""].forEach((c) => {
        const td = document.createElement("td"); td.textContent = String(c); row.appendChild(td);
      });
      return row;
    }));
  } catch (e) {
    status($("status"), "cannot list models: " + e.message, true);
  }
}

async function pull() {
  const st = $("pull-status"), bar = $("pull-progress");
  const model = $("pull-model").value.trim();
  if (!model) return status(st, "name a model to pull", true);
  bar.hidden = false;
  bar.value = 0;
  try {
    const resp = await fetch("/api/pull", { method: "POST", headers: headers(true), body: JSON.stringify({ model, stream: true, accept_license: $("pull-accept").checked }) });
    if (!resp.ok) {
      const err = await resp.json().catch(() => ({}));
      throw Object.assign(new Error(err.error || "HTTP " + resp.status), { code: err.code });
    }
    const reader = resp.body.getReader(), dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const ev = JSON.parse(line);
        if (ev.error) throw Object.assign(new Error(ev.error), { code: ev.code });
        if (ev.total) bar.value = (ev.completed || 0) / ev.total;
        status(st, ev.status + (ev.total ? ` ${Math.round(100 * (ev.completed || 0) / ev.total)}%` : ""));
      }
    }
    bar.value = 1;
    await loadModels();
  } catch (e) {
    status(st, (e.code ? e.code + ": " : "") + e.message, true);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const key = $("api-key");
  key.value = sessionStorage.getItem(KEY) || "";
  key.addEventListener("change", () => { key.value ? sessionStorage.setItem(KEY, key.value) : sessionStorage.removeItem(KEY); loadModels(); });
  $("file").addEventListener("change", async (ev) => {
    const file = ev.target.files[0];
    if (file) $("data").value = await file.text();
  });
  $("run").addEventListener("click", runForecast);
  $("download").addEventListener("click", download);
  $("pull").addEventListener("click", pull);
  $("evaluate").addEventListener("click", runEvaluate);
  loadModels();
});
