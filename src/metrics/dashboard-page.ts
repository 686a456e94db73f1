/**
 * The dashboard page: static HTML and a small script, no build step. It loads uPlot
 * from /dashboard/uPlot.min.js (served from node_modules) and reads snapshots from
 * /dashboard/events (server-sent events). Elements carry data-* attributes so the
 * browser test can read figures without parsing layout.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Colo dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/dashboard/uPlot.min.css">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#0f1419;color:#d8dee9}
header{display:flex;gap:24px;align-items:baseline;padding:10px 18px;background:#1a2029;border-bottom:1px solid #2b3340}
h1{font-size:18px;margin:0}h2{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:#8fa1b3;margin:14px 0 6px}
main{padding:4px 18px 18px}.row{display:flex;flex-wrap:wrap;gap:18px}.card{background:#1a2029;border-radius:6px;padding:8px 12px}
table{border-collapse:collapse}td,th{padding:3px 10px;text-align:right;font-variant-numeric:tabular-nums}th{color:#8fa1b3;font-weight:500}
td:first-child,th:first-child{text-align:left}.big{font-size:22px;font-weight:600}.ok{color:#a3be8c}.warn{color:#ebcb8b}.bad{color:#bf616a}
#status.live{color:#a3be8c}#status.down{color:#bf616a}.u-legend{font-size:12px}
</style></head><body>
<header><h1>Colo</h1><span id="status" class="down">connecting…</span>
<span>event-loop lag p99 <b id="lag-p99" data-field="eventLoopP99Ms">–</b> ms, max <b id="lag-max">–</b> ms</span>
<span>RSS <b id="rss">–</b> MB</span><span>WS <b id="ws">–</b></span><span id="updated"></span></header>
<main>
<h2>Models (rates over 5 s, percentiles over <span id="window">60</span> s)</h2>
<div class="card"><table id="models"><thead><tr><th>model</th><th>tokens/s</th><th>req/s</th>
<th>TTFT p50</th><th>p90</th><th>p99</th><th>total p50</th><th>p99</th><th>queue</th><th>sequences in use</th></tr></thead><tbody></tbody></table></div>
<div class="row">
<div><h2>Tokens/s</h2><div class="card" id="chart-tps"></div></div>
<div><h2>TTFT p99 (ms)</h2><div class="card" id="chart-ttft"></div></div>
<div><h2>Event-loop lag (ms)</h2><div class="card" id="chart-lag"></div></div>
</div>
<div class="row">
<div><h2>Route mix</h2><div class="card"><table id="routes"><tbody></tbody></table></div></div>
<div><h2>Errors by code</h2><div class="card"><table id="errors"><tbody><tr><td>none</td></tr></tbody></table></div></div>
<div><h2>Breakers</h2><div class="card"><table id="breakers"><tbody><tr><td>no remote targets</td></tr></tbody></table></div></div>
</div>
</main>
<script src="/dashboard/uPlot.min.js"></script>
<script>
(function () {
  var KEEP = 300, COLORS = ['#88c0d0', '#a3be8c', '#ebcb8b', '#b48ead', '#d08770', '#5e81ac'];
  var xs = [], series = {}, charts = {}, modelsSeen = [];
  function el(id) { return document.getElementById(id); }
  function fmt(v, d) { return v === undefined || v === null ? '–' : Number(v).toFixed(d === undefined ? 2 : d); }
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); }
  function push(key, v) { (series[key] = series[key] || []).push(v); if (series[key].length > KEEP) series[key].shift(); }
  function chart(id, names) {
    var opts = { width: 410, height: 180, scales: { x: { time: true } },
      series: [{}].concat(names.map(function (n, i) { return { label: n, stroke: COLORS[i % COLORS.length], width: 2 }; })),
      axes: [{ stroke: '#8fa1b3', grid: { stroke: '#2b3340' } }, { stroke: '#8fa1b3', grid: { stroke: '#2b3340' } }] };
    var node = el(id); node.innerHTML = '';
    return new uPlot(opts, [[]].concat(names.map(function () { return []; })), node);
  }
  function rebuild() {
    charts.tps = chart('chart-tps', modelsSeen);
    charts.ttft = chart('chart-ttft', modelsSeen);
    charts.lag = chart('chart-lag', ['p99', 'max']);
  }
  function pad(key) { var a = series[key] || []; while (a.length < xs.length) a.unshift(null); return a; }
  function table(id, rows, empty) {
    el(id).querySelector('tbody').innerHTML = rows.length ? rows.join('') : '<tr><td>' + empty + '</td></tr>';
  }
  function render(s) {
    el('status').textContent = 'live'; el('status').className = 'live';
    el('updated').textContent = new Date(s.t).toLocaleTimeString();
    el('window').textContent = s.windowSec;
    el('lag-p99').textContent = fmt(s.eventLoop.p99Ms); el('lag-max').textContent = fmt(s.eventLoop.maxMs);
    el('rss').textContent = fmt(s.process.rssMb, 0); el('ws').textContent = s.process.wsConnections;
    var changed = false;
    s.models.forEach(function (m) { if (modelsSeen.indexOf(m.model) < 0) { modelsSeen.push(m.model); changed = true; } });
    if (changed || !charts.tps) rebuild();
    xs.push(s.t / 1000); if (xs.length > KEEP) xs.shift();
    modelsSeen.forEach(function (name) {
      var m = s.models.filter(function (x) { return x.model === name; })[0];
      push('tps:' + name, m ? m.tokensPerSec : null); push('ttft:' + name, m ? m.ttftMs.p99 : null);
    });
    push('lag:p99', s.eventLoop.p99Ms); push('lag:max', s.eventLoop.maxMs);
    charts.tps.setData([xs].concat(modelsSeen.map(function (n) { return pad('tps:' + n); })));
    charts.ttft.setData([xs].concat(modelsSeen.map(function (n) { return pad('ttft:' + n); })));
    charts.lag.setData([xs, pad('lag:p99'), pad('lag:max')]);
    table('models', s.models.map(function (m) {
      var q = m.queueDepth > 0 ? 'warn' : 'ok';
      return '<tr data-model="' + esc(m.model) + '"><td>' + esc(m.model) + '</td>' +
        '<td class="big" data-field="tokensPerSec">' + fmt(m.tokensPerSec, 1) + '</td>' +
        '<td data-field="requestsPerSec">' + fmt(m.requestsPerSec, 1) + '</td>' +
        '<td data-field="ttftP50">' + fmt(m.ttftMs.p50) + '</td><td>' + fmt(m.ttftMs.p90) + '</td>' +
        '<td data-field="ttftP99">' + fmt(m.ttftMs.p99) + '</td>' +
        '<td data-field="totalP50">' + fmt(m.totalMs.p50) + '</td><td>' + fmt(m.totalMs.p99) + '</td>' +
        '<td class="' + q + '" data-field="queueDepth">' + m.queueDepth + '</td>' +
        '<td data-field="inFlight">' + m.inFlight + ' / ' + m.sequences + '</td></tr>';
    }), 'no models');
    table('routes', Object.keys(s.routes).map(function (k) {
      return '<tr data-route="' + esc(k) + '"><td>' + esc(k) + '</td><td>' + s.routes[k] + '</td></tr>';
    }), 'no requests yet');
    table('errors', Object.keys(s.errors).map(function (k) {
      return '<tr data-error="' + esc(k) + '"><td class="bad">' + esc(k) + '</td><td>' + s.errors[k] + '</td></tr>';
    }), 'none');
    table('breakers', s.breakers.map(function (b) {
      var c = b.state === 'closed' ? 'ok' : b.state === 'open' ? 'bad' : 'warn';
      return '<tr><td>' + esc(b.target) + '</td><td class="' + c + '">' + esc(b.state) + '</td></tr>';
    }), 'no remote targets');
  }
  var es = new EventSource('/dashboard/events');
  es.onmessage = function (ev) { render(JSON.parse(ev.data)); };
  es.onerror = function () { el('status').textContent = 'disconnected, retrying…'; el('status').className = 'down'; };
})();
</script></body></html>
`;
