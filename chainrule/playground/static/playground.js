// The playground page: controls → configuration (kept in the URL) → the server; the server's frames → drawings.
// Plain JS and canvas, no library. Training happens on the server, in chainrule's engine.
"use strict";

const FEATURES = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"];
const FEATURE_LABELS = {x1: "x₁", x2: "x₂", x1sq: "x₁²", x2sq: "x₂²", x1x2: "x₁x₂", sinx1: "sin x₁", sinx2: "sin x₂"};
const ACTIVATIONS = ["tanh", "relu", "sigmoid", "linear", "leaky_relu"];
const RATES = [0.00001, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const REG_RATES = [0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3, 10];
const MAX_LAYERS = 6, MAX_UNITS = 8;
const DEFAULTS = {dataset: "circle", problem: "classification", noise: 0, train_ratio: 50, batch_size: 10, features: ["x1", "x2"],
  hidden: [4, 2], activations: ["tanh", "tanh"], learning_rate: 0.03, optimizer: "sgd", regularization: "none",
  regularization_rate: 0, dropout: 0, batch_norm: false, init: "default", residual: false, clip_grad_norm: 0, seed: 0, drawn: ""};
const ORANGE = [245, 147, 34], BLUE = [8, 119, 189], WHITE = [232, 234, 235];

const $ = (id) => document.getElementById(id);
let config = structuredClone(DEFAULTS);
let socket = null, playing = false, frame = null, points = null, fixedFrom = null;
let explanation = null, explainStep = -1, picking = false;
// What the browser test reads: how many frames came and how long drawing each took.
const stats = window.playgroundStats = {frames: 0, drawMs: [], gapsMs: [], lastAt: 0, errors: []};

// ------------------------------------------------------------------ configuration ⇄ URL
function fromURL() {
  const query = new URLSearchParams(location.search), result = structuredClone(DEFAULTS);
  for (const [key, value] of query) {
    if (key === "activation") result.activations = null, result._activation = value;
    else if (key in DEFAULTS) result[key] = Array.isArray(DEFAULTS[key]) ? value.split(",").filter(Boolean)
      : typeof DEFAULTS[key] === "number" ? Number(value) : typeof DEFAULTS[key] === "boolean" ? value === "1" || value === "true" : value;
  }
  result.hidden = result.hidden.map(Number);
  if (result._activation || !result.activations) result.activations = result.hidden.map(() => result._activation || "tanh");
  delete result._activation;
  return result;
}

function toQuery(c) {
  const query = new URLSearchParams();
  for (const key of Object.keys(DEFAULTS)) {
    let value = c[key];
    if (key === "activations" && new Set(value).size <= 1) { if (value[0] !== "tanh") query.set("activation", value[0] || "tanh"); continue; }
    if (JSON.stringify(value) === JSON.stringify(DEFAULTS[key])) continue;
    query.set(key, Array.isArray(value) ? value.join(",") : typeof value === "boolean" ? (value ? "1" : "0") : String(value));
  }
  return query.toString();
}

function send(message) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(message)); }

function apply(changes) {
  Object.assign(config, changes);
  fixedFrom = null;  // a new configuration: the comparison with the run before the fix no longer holds
  history.replaceState(null, "", "?" + toQuery(config));
  setPlaying(false);
  send({type: "config", config});
  showControls();
}

// ------------------------------------------------------------------ controls
function options(select, values, label = String) {
  select.innerHTML = values.map((v) => `<option value="${v}">${label(v)}</option>`).join("");
}

function setPlaying(on) {
  playing = on;
  $("play").textContent = on ? "❚❚" : "▶";
  document.body.dataset.playing = on ? "1" : "0";
  send({type: on ? "play" : "pause"});
}

function showControls() {
  for (const id of ["learning_rate", "regularization_rate", "optimizer", "regularization", "init", "problem"]) $(id).value = String(config[id]);
  $("activation").value = new Set(config.activations).size === 1 ? config.activations[0] : "";
  for (const id of ["noise", "train_ratio", "batch_size", "dropout"]) { $(id).value = config[id]; $(id + "-value").textContent = config[id]; }
  $("seed").value = config.seed;
  $("batch_norm").checked = config.batch_norm; $("residual").checked = config.residual;
  for (const b of document.querySelectorAll("#datasets button")) {
    b.classList.toggle("selected", b.dataset.dataset === config.dataset);
    b.hidden = ("regression" in b.dataset) !== (config.problem === "regression");  // each problem its own sets
  }
  $("layer-count").textContent = config.hidden.length;
  const drawn = config.drawn ? config.drawn.split(";").length : 0;
  $("data-note").innerHTML = (config.dataset === "upload" ? "your uploaded CSV is <b>not</b> in the link: whoever opens it must upload it too. " : "")
    + (drawn ? `${drawn} drawn point${drawn > 1 ? "s" : ""} (kept in the link) <button id="clear-drawn">clear</button>` : "");
  $("draw-label").textContent = config.problem === "regression" ? "click = blue (+1), shift+click = orange (−1)"
    : "click = blue (1), shift+click = orange (0)";
  $("features").innerHTML = FEATURES.map((f) =>
    `<label><input type="checkbox" data-feature="${f}" ${config.features.includes(f) ? "checked" : ""}> ${FEATURE_LABELS[f]}</label>`).join("");
  $("layers").innerHTML = config.hidden.map((units, k) => `<div class="layer" data-layer="${k}">
    <button data-units="${k}" data-delta="1">+</button><button data-units="${k}" data-delta="-1">−</button>
    ${units} units <select data-layer-activation="${k}">${ACTIVATIONS.map((a) =>
      `<option ${a === config.activations[k] ? "selected" : ""}>${a}</option>`).join("")}</select></div>`).join("");
}

function wireControls() {
  options($("learning_rate"), RATES);
  options($("regularization_rate"), REG_RATES);
  options($("activation"), ["", ...ACTIVATIONS], (a) => a || "(per layer)");
  $("play").onclick = () => setPlaying(!playing);
  $("step").onclick = () => { setPlaying(false); send({type: "step"}); };
  $("reset").onclick = () => { setPlaying(false); send({type: "reset"}); };
  $("learning_rate").onchange = (e) => apply({learning_rate: Number(e.target.value)});
  $("regularization_rate").onchange = (e) => apply({regularization_rate: Number(e.target.value)});
  for (const id of ["optimizer", "regularization", "init"]) $(id).onchange = (e) => apply({[id]: e.target.value});
  $("activation").onchange = (e) => e.target.value && apply({activations: config.hidden.map(() => e.target.value)});
  for (const id of ["noise", "train_ratio", "batch_size", "dropout"]) $(id).onchange = (e) => apply({[id]: Number(e.target.value)});
  $("seed").onchange = (e) => apply({seed: Math.max(0, Math.floor(Number(e.target.value) || 0))});
  $("batch_norm").onchange = (e) => apply({batch_norm: e.target.checked});
  $("residual").onchange = (e) => apply({residual: e.target.checked});
  // drawn points belong to the data set (and the problem) they were drawn on
  $("problem").onchange = (e) => apply({problem: e.target.value, dataset: e.target.value === "regression" ? "plane" : "circle", drawn: ""});
  $("gradview").onchange = () => frame && drawNetwork();
  for (const b of document.querySelectorAll("#datasets button")) b.onclick = () => apply({dataset: b.dataset.dataset, drawn: ""});
  $("add-layer").onclick = () => config.hidden.length < MAX_LAYERS && apply({hidden: [...config.hidden, 2],
    activations: [...config.activations, config.activations.at(-1) || "tanh"]});
  $("remove-layer").onclick = () => config.hidden.length > 0 && apply({hidden: config.hidden.slice(0, -1),
    activations: config.activations.slice(0, -1)});
  $("features").onchange = (e) => {
    const chosen = FEATURES.filter((f) => f === e.target.dataset.feature ? e.target.checked : config.features.includes(f));
    if (chosen.length) apply({features: chosen}); else showControls();
  };
  $("layers").onclick = (e) => {
    const k = e.target.dataset.units;
    if (k === undefined) return;
    const hidden = [...config.hidden];
    hidden[k] = Math.min(MAX_UNITS, Math.max(1, hidden[k] + Number(e.target.dataset.delta)));
    apply({hidden});
  };
  $("layers").onchange = (e) => {
    const k = e.target.dataset.layerActivation;
    if (k === undefined) return;
    const activations = [...config.activations]; activations[k] = e.target.value;
    apply({activations});
  };
  $("upload").onchange = async (e) => {
    const file = e.target.files[0];
    if (file) { setPlaying(false); send({type: "upload", csv: await file.text()}); }
  };
  $("data-note").onclick = (e) => e.target.id === "clear-drawn" && apply({drawn: ""});
  $("compare-runs").onclick = () => { $("compare").hidden = !$("compare").hidden; if (frame) drawComparison(); };
  $("doctor").onclick = (e) => { if (e.target.id === "apply-fix") { setPlaying(false); send({type: "fix"}); } };
  $("explain-start").onclick = () => {
    setPlaying(false); picking = true;
    $("explain-status").textContent = "click a training point on the output";
  };
  $("boundary").onclick = (e) => picking ? pickPoint(e) : $("draw-mode").checked && drawPoint(e);
  $("explain-next").onclick = () => showExplainStep(explainStep + 1);
  $("explain-prev").onclick = () => showExplainStep(explainStep - 1);
}

// ------------------------------------------------------------------ drawing
function mix(a, b, t) { return a.map((v, i) => Math.round(v + (b[i] - v) * t)); }
function colorOf(p) { return p < 0.5 ? mix(ORANGE, WHITE, p * 2) : mix(WHITE, BLUE, (p - 0.5) * 2); }
function bytes(b64) { return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)); }

function heatImage(b64, size) {
  const values = bytes(b64), canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const context = canvas.getContext("2d"), image = context.createImageData(size, size);
  values.forEach((v, i) => { const c = colorOf(v / 255); image.data.set([...c, 255], i * 4); });
  context.putImageData(image, 0, 0);
  return canvas;
}

function toCanvas(x, size, domain) { return (x + domain) / (2 * domain) * size; }

function drawBoundary() {
  const canvas = $("boundary"), context = canvas.getContext("2d"), size = canvas.width;
  context.imageSmoothingEnabled = true;
  context.drawImage(heatImage(frame.boundary, frame.grid), 0, 0, size, size);
  if (!points) return;
  points.points.forEach(([x1, x2], i) => {
    const test = i >= points.n_train, label = points.labels[i];
    context.beginPath();
    context.arc(toCanvas(x1, size, points.domain), toCanvas(-x2, size, points.domain), test ? 2.5 : 3, 0, 2 * Math.PI);
    context.fillStyle = `rgb(${colorOf(config.problem === "regression" ? (label + 1) / 2 : label).join(",")})`;
    context.fill();
    context.strokeStyle = test ? "#000" : "#fff"; context.lineWidth = test ? 0.8 : 1; context.stroke();
  });
  if (explanation) {
    const [x1, x2] = explanation.point;
    context.beginPath(); context.arc(toCanvas(x1, size, points.domain), toCanvas(-x2, size, points.domain), 7, 0, 2 * Math.PI);
    context.strokeStyle = "#c0392b"; context.lineWidth = 2.5; context.stroke();
  }
}

function layout() {
  const sizes = [config.features.length, ...config.hidden, 1], canvas = $("network");
  const dx = canvas.width / sizes.length, node = 30;
  return sizes.map((n, k) => Array.from({length: n}, (_, j) => ({x: dx * (k + 0.5), y: 30 + j * 46 + node / 2, node})));
}

function flaggedLayers() { return new Set((frame.findings || []).map((f) => f.layer).filter((l) => l !== null)); }

function drawNetwork() {
  const canvas = $("network"), context = canvas.getContext("2d"), nodes = layout();
  const gradView = $("gradview").checked, flagged = flaggedLayers();
  context.clearRect(0, 0, canvas.width, canvas.height);
  const matrices = gradView ? frame.grads : frame.weights;
  matrices.forEach((matrix, k) => {
    // weights: one scale for the whole net; gradients: each layer on its own log scale, so small ones show
    const flat = matrix.flat().map(Math.abs).filter((v) => v > 0), top = Math.max(...flat, 1e-12);
    const low = gradView ? Math.max(Math.min(...flat, top), top * 1e-4) : 0;
    if (flagged.has(k)) {
      context.fillStyle = "rgba(192,57,43,0.10)";
      context.fillRect(nodes[k][0].x, 0, nodes[k + 1][0].x - nodes[k][0].x, canvas.height);
    }
    matrix.forEach((row, j) => row.forEach((w, i) => {
      const a = nodes[k][i], b = nodes[k + 1][j];
      if (!a || !b) return;
      const strength = gradView ? (Math.abs(w) > 0 ? (Math.log(Math.abs(w)) - Math.log(low)) / (Math.log(top) - Math.log(low) || 1) : 0)
        : Math.min(1, Math.abs(w) / 2);
      context.strokeStyle = `rgba(${(w > 0 ? BLUE : ORANGE).join(",")},${0.15 + 0.85 * Math.max(0, Math.min(1, strength))})`;
      context.lineWidth = 0.5 + 4 * Math.max(0, Math.min(1, strength));
      context.beginPath(); context.moveTo(a.x + a.node / 2, a.y); context.lineTo(b.x - b.node / 2, b.y); context.stroke();
    }));
  });
  nodes.forEach((column, k) => column.forEach((n, j) => {
    const left = n.x - n.node / 2, top = n.y - n.node / 2;
    const unit = k > 0 && k <= frame.units.length ? frame.units[k - 1][j] : null;
    const feature = k === 0 && points && points.feature_maps ? points.feature_maps[j] : null;
    if (unit) context.drawImage(heatImage(unit, frame.unit_grid), left, top, n.node, n.node);
    else if (feature) context.drawImage(heatImage(feature, points.unit_grid), left, top, n.node, n.node);
    else if (k === nodes.length - 1) context.drawImage(heatImage(frame.boundary, frame.grid), left, top, n.node, n.node);
    else { context.fillStyle = "#eef"; context.fillRect(left, top, n.node, n.node); }
    const dead = k > 0 && frame.dead[k - 1] && frame.dead[k - 1][j];
    if (dead) { context.fillStyle = "rgba(120,120,120,0.85)"; context.fillRect(left, top, n.node, n.node); }
    context.strokeStyle = dead ? "#555" : "#999"; context.lineWidth = 1; context.strokeRect(left, top, n.node, n.node);
    context.fillStyle = "#333"; context.font = "10px sans-serif"; context.textAlign = "center";
    if (k === 0) context.fillText(FEATURE_LABELS[config.features[j]], n.x, n.y + n.node / 2 + 11);
  }));
  drawExplainNumbers(context, nodes);
}

function drawGradBars() {
  const values = frame.grad_rms, flagged = flaggedLayers();
  const logs = values.map((v) => Math.log10(Math.max(v || 0, 1e-12))), low = Math.min(...logs) - 1;
  const high = Math.max(...logs) + 0.5;
  $("grad-bars").innerHTML = values.map((v, k) => `<div class="bar ${flagged.has(k) ? "flagged" : ""}" data-layer="${k}"
    data-rms="${v}" title="layer ${k + 1}: gradient RMS ${v}"><div style="height:${Math.round(50 * (logs[k] - low) / (high - low || 1))}px"></div>
    ${k < values.length - 1 ? "L" + (k + 1) : "out"}<br>${v === null ? "NaN" : v.toExponential(1)}</div>`).join("")
    + `<span class="quiet">gradient RMS per layer (log scale)</span>`;
}

// Loss curves: rows [step, train loss, test loss]; train dashed, test solid; scaled to fit every run in
// scaleTo (by default those drawn), so charts drawn with the same scaleTo compare by eye.
function plotRuns(canvas, runs, scaleTo = runs) {
  const context = canvas.getContext("2d");
  context.clearRect(0, 0, canvas.width, canvas.height);
  runs = runs.filter(([h]) => h && h.length);
  scaleTo = scaleTo.filter(([h]) => h && h.length);
  if (!runs.length) return;
  const all = scaleTo.flatMap(([h]) => h.flatMap((r) => [r[1], r[2]])).filter((v) => v !== null && isFinite(v));
  const top = Math.max(...all, 0.1), last = Math.max(...scaleTo.map(([h]) => h.at(-1)[0]), 1);
  runs.forEach(([h, color]) => [1, 2].forEach((col) => {
    context.beginPath(); context.strokeStyle = color; context.setLineDash(col === 2 ? [] : [3, 2]);
    h.forEach((r, i) => { const x = r[0] / last * canvas.width, y = canvas.height - (Math.min(r[col] ?? top, top) / top) * (canvas.height - 4);
      i ? context.lineTo(x, y) : context.moveTo(x, y); });
    context.stroke();
  }));
  context.setLineDash([]);
}

function drawLossCurve() {
  const canvas = $("loss-curve"), context = canvas.getContext("2d");
  plotRuns(canvas, [[fixedFrom, "#bbb"], [frame.history, "#183d4e"]]);
  if (fixedFrom) { context.fillStyle = "#888"; context.font = "10px sans-serif"; context.fillText("grey: before the fix", 4, 10); }
}

// Before and after "apply fix", side by side on one loss scale, each with its last losses in numbers.
function drawComparison() {
  $("compare-runs").hidden = !fixedFrom;
  if (!fixedFrom || $("compare").hidden) return;
  const runs = {before: fixedFrom, after: frame.history}, both = [[fixedFrom], [frame.history]];
  for (const [name, h] of Object.entries(runs)) {
    plotRuns($(`compare-${name}`), [[h, name === "before" ? "#888" : "#183d4e"]], both);
    const row = h.at(-1), loss = (v) => v === null ? "diverged" : v.toFixed(3);
    $(`compare-${name}-numbers`).textContent = row ? `step ${row[0]}: train ${loss(row[1])} · test ${loss(row[2])}` : "";
    $(`compare-${name}-numbers`).dataset.test = row ? row[2] : "";
  }
}

function drawFindings() {
  const findings = frame.findings || [];
  $("layers").querySelectorAll(".layer").forEach((el) => el.classList.toggle("flagged", flaggedLayers().has(Number(el.dataset.layer))));
  if (!findings.length) { $("doctor").innerHTML = `<p class="quiet">No findings yet.</p>`; return; }
  const fixable = findings.some((f) => f.fixable);
  const shown = JSON.stringify(findings.map((f) => f.kind + f.layer));
  if ($("doctor").dataset.shown === shown) return;  // unchanged: keep the button under the mouse
  $("doctor").dataset.shown = shown;
  $("doctor").innerHTML = findings.map((f) => `<div class="finding ${f.severity}" data-kind="${f.kind}" data-layer="${f.layer ?? ""}">
      <b>${f.title}</b>${f.layer !== null ? ` in ${f.layer < config.hidden.length ? "hidden layer " + (f.layer + 1) : "the output layer"}` : ""} (step ${f.step})
      <p>${escapeHTML(f.explanation)}</p>${f.remedies.length ? `<p>→ ${escapeHTML(f.remedies[0])}</p>` : ""}</div>`).join("")
    + (fixable ? `<button id="apply-fix">apply fix</button>` : "");
}

function escapeHTML(text) { const d = document.createElement("div"); d.textContent = text; return d.innerHTML; }

function draw() {
  const start = performance.now();
  $("epoch").textContent = frame.epoch;
  $("train-loss").textContent = frame.train_loss === null ? "diverged" : frame.train_loss.toFixed(3);
  $("test-loss").textContent = frame.test_loss === null ? "diverged" : frame.test_loss.toFixed(3);
  $("speed").textContent = frame.steps_per_second;
  drawBoundary(); drawNetwork(); drawGradBars(); drawLossCurve(); drawComparison(); drawFindings();
  stats.drawMs.push(performance.now() - start);
  if (stats.drawMs.length > 1000) stats.drawMs.splice(0, 500);
}

// ------------------------------------------------------------------ step-by-step backprop
// The steps: each unit's forward pass (x, y) from the inputs up, then each unit's ∂E/∂x from the output down.
function explainSteps() {
  const e = explanation, steps = [];
  e.forward.x.forEach((xs, k) => xs.forEach((x, j) => steps.push({phase: "forward", layer: k + 1, unit: j,
    name: e.units[k + 1][j], values: {x, y: e.forward.y[k + 1][j]}})));
  for (let k = e.backward.grad_x.length - 1; k >= 0; k--) e.backward.grad_x[k].forEach((g, j) => steps.push({
    phase: "backward", layer: k + 1, unit: j, name: e.units[k + 1][j],
    values: {"∂E/∂y": e.backward.grad_y[k + 1][j], "∂E/∂x": g, "∂E/∂b": e.backward.grad_biases[k][j],
      // ∂E/∂w_ij = y_i · ∂E/∂x_j for each unit i feeding this one
      ...Object.fromEntries(e.backward.grad_weights[k][j].map((gw, i) => [`∂E/∂w from ${e.units[k][i]}`, gw]))}}));
  return steps;
}

function showExplainStep(index) {
  const steps = explainSteps();
  explainStep = Math.max(0, Math.min(steps.length - 1, index));
  $("explain-prev").disabled = explainStep === 0; $("explain-next").disabled = explainStep === steps.length - 1;
  const fmt = (v) => Number(v).toPrecision(6);
  $("explain-table").innerHTML = `<tr><th>step</th><th>unit</th><th>quantity</th><th>value</th></tr>` + steps.slice(0, explainStep + 1)
    .flatMap((s, n) => Object.entries(s.values).map(([q, v]) => `<tr class="${n === explainStep ? "current" : ""}" data-phase="${s.phase}"
      data-layer="${s.layer}" data-unit="${s.unit}" data-quantity="${q}" data-value="${v}"><td>${n + 1} ${s.phase}</td><td>${s.name}</td>
      <td>${q}</td><td>${fmt(v)}</td></tr>`)).join("");
  $("explain-status").textContent = `step ${explainStep + 1} of ${steps.length}: ${steps[explainStep].phase} pass, unit ${steps[explainStep].name}`
    + (explainStep === steps.length - 1 ? ` · ${explanation.summary}` : "");
  if (frame) drawNetwork();
}

function drawExplainNumbers(context, nodes) {
  if (!explanation || explainStep < 0) return;
  const steps = explainSteps().slice(0, explainStep + 1);
  context.font = "bold 10px sans-serif"; context.textAlign = "left";
  explanation.network.inputs.forEach((v, j) => { context.fillStyle = "#183d4e"; context.fillText(Number(v).toFixed(3), nodes[0][j].x + 17, nodes[0][j].y - 8); });
  for (const s of steps) {
    const n = nodes[s.layer][s.unit];
    context.fillStyle = s.phase === "forward" ? "#183d4e" : "#c0392b";
    context.fillText(s.phase === "forward" ? `y=${s.values.y.toFixed(3)}` : `∂x=${s.values["∂E/∂x"].toExponential(2)}`,
      n.x + 17, n.y + (s.phase === "forward" ? -8 : 16));
  }
}

function pointAt(event) {
  const rect = $("boundary").getBoundingClientRect(), domain = points.domain;
  return [(event.clientX - rect.left) / rect.width * 2 * domain - domain, domain - (event.clientY - rect.top) / rect.height * 2 * domain];
}

function drawPoint(event) {
  const [x1, x2] = pointAt(event);
  setPlaying(false);
  const low = config.problem === "regression" ? -1 : 0;
  send({type: "add_point", x1: Math.round(x1 * 1000) / 1000, x2: Math.round(x2 * 1000) / 1000, label: event.shiftKey ? low : 1});
}

function pickPoint(event) {
  const [x1, x2] = pointAt(event);
  let best = 0, bestDistance = Infinity;
  points.points.slice(0, points.n_train).forEach(([a, b], i) => { const d = (a - x1) ** 2 + (b - x2) ** 2; if (d < bestDistance) best = i, bestDistance = d; });
  picking = false;
  send({type: "explain", index: best});
}

// ------------------------------------------------------------------ the connection
function connect() {
  socket = new WebSocket(`ws://${location.host}/ws`);
  socket.onopen = () => send({type: "config", config});
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "frame") {
      const now = performance.now();
      if (stats.lastAt) stats.gapsMs.push(now - stats.lastAt);
      if (stats.gapsMs.length > 1000) stats.gapsMs.splice(0, 500);
      stats.lastAt = now; stats.frames++;
      frame = stats.frame = message; draw();
    } else if (message.type === "points") {
      points = stats.points = message; config = message.config; showControls();
      history.replaceState(null, "", "?" + toQuery(config));
      document.body.dataset.config = toQuery(config);
    } else if (message.type === "fixed") {
      fixedFrom = stats.previous = message.previous;
      $("error").textContent = "";
      document.body.dataset.fixed = message.kind + ": " + message.remedy;
      $("explain-status").textContent = `applied: ${message.remedy}; restarted from seed ${message.config.seed}`;
    } else if (message.type === "explanation") {
      explanation = stats.explanation = message; showExplainStep(0); drawBoundary();
    } else if (message.type === "error") {
      stats.errors.push(message.message);
      $("error").textContent = message.message;
    }
  };
  socket.onclose = () => { $("error").textContent = "disconnected from the server (is `chainrule playground` still running?)"; };
}

config = fromURL();
wireControls();
showControls();
connect();
