// One department's dashboard: draws the snapshot (REST or websocket) and follows the live feed.
// Whether the unit is safe comes from the server's staffing state (snapshot.staffing, and the
// staffing.changed event that follows every census or duty change); the page never judges it itself.
// Every websocket message is numbered. A workload change carries the hours it changed: the page
// patches them in at once and re-reads the snapshot a few seconds later (for the tiles only the
// server computes); any other event, or a gap in the numbers, re-reads the snapshot at once.
// The socket reconnects with backoff and receives a fresh snapshot when it does.

const root = document.querySelector(".dashboard");
const { department, snapshotUrl, socketPath, timezone } = root.dataset;

// Okabe-Ito: tells colours apart for every common kind of colour blindness.
const COLOURS = {
  census: "#0072B2",
  forecast: "#56B4E9",
  band: "rgba(86, 180, 233, 0.25)",
  planned: "#009E73",
  required: "#E69F00",
  risk: "#D55E00",
  arrivals: "#CC79A7",
};

// Hospitals keep a 24-hour clock, in the department's own zone whatever the browser's.
const hourLabel = new Intl.DateTimeFormat(undefined, {
  timeZone: timezone,
  weekday: "short",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

let sequence = 0;
let socket = null;
let attempts = 0;
let refetchTimer = null;
let refetchDue = Infinity;
let current = null; // the snapshot drawn, as patched since
// Bursts of admissions coalesce into one snapshot read per page at most this often.
const SETTLE_MS = 5000;
const charts = {};

function setStatus(text, state) {
  const status = document.getElementById("live-status");
  status.textContent = text;
  status.dataset.state = state;
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

function percent(value) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(1)} %`;
}

async function loadSnapshot() {
  const response = await fetch(snapshotUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) {
    setStatus(`Could not load the department (${response.status})`, "error");
    return;
  }
  render(await response.json());
}

function scheduleRefetch(delay = 150) {
  const due = Date.now() + delay;
  if (due >= refetchDue) return; // an earlier read is already on its way
  clearTimeout(refetchTimer);
  refetchDue = due;
  refetchTimer = setTimeout(() => {
    refetchDue = Infinity;
    loadSnapshot();
  }, delay);
}

// Patch the hours a workload.changed event carries; false when one is outside the drawn window
// (a new hour began since the snapshot), and the snapshot must be re-read instead. Only the census
// is patched: whether the unit is short is the server's to say (the staffing.changed event).
function applyHours(hours) {
  const index = new Map(current.actual.map((hour, position) => [hour.hour, position]));
  if (!hours.every((hour) => index.has(hour.hour))) return false;
  for (const hour of hours) {
    Object.assign(current.actual[index.get(hour.hour)], { census: hour.census, arrivals: hour.arrivals });
  }
  setCensusTiles(current.actual[current.actual.length - 1].census, current.staffing.on_duty);
  return true;
}

// The census tiles as the server computes them: patients per nurse to two decimals, none without staff.
function setCensusTiles(census, staff) {
  Object.assign(current.tiles, {
    census_now: census,
    patients_per_nurse_now: staff && census !== null ? Math.round((100 * census) / staff) / 100 : null,
  });
}

let shownAlerts = null;

function renderAlerts(alerts) {
  // The list is a live region: rebuild it only when the alerts change, or screen readers re-read it all.
  const signature = alerts.map((alert) => `${alert.id}:${alert.severity}:${alert.title}`).join("|");
  if (signature === shownAlerts) return;
  shownAlerts = signature;
  const list = document.getElementById("alert-list");
  list.replaceChildren(
    ...(alerts.length ? alerts : [null]).map((alert) => {
      const item = document.createElement("li");
      if (alert === null) {
        item.className = "muted";
        item.textContent = "None";
      } else {
        item.className = `severity-${alert.severity}`;
        item.textContent = `${alert.severity === "critical" ? "Critical: " : ""}${alert.title}`;
      }
      return item;
    }),
  );
}

const timeLabel = new Intl.DateTimeFormat(undefined, { timeZone: timezone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const nurses = (count) => (count === 1 ? "1 nurse" : `${count} nurses`);

function setFlag(id, flagged) {
  document.getElementById(id).classList.toggle("flagged", Boolean(flagged));
}

// The verdict, the tiles and the confirm button: all from the server's staffing state, so the page
// says exactly what the alerts, the API and the metrics say.
function renderStaffing(snapshot) {
  const staffing = snapshot.staffing;
  const verdict = document.getElementById("verdict");
  // Covered now but likely short within the hours one can act on: amber, not green.
  verdict.dataset.status = staffing.status === "short" ? "short" : staffing.at_risk_soon ? "risk" : staffing.status ?? "unknown";
  setText("verdict-text", snapshot.verdict);
  setText("verdict-reason", staffing.reason ?? "");
  setText("local-now", timeLabel.format(new Date()));
  setText("updated-at", timeLabel.format(new Date(snapshot.generated_at)));

  const { tiles } = snapshot;
  const ratio = snapshot.department.patients_per_nurse;
  setText("tile-census", tiles.census_now ?? "no data this hour");
  setText("tile-required", staffing.required_now ?? "–");
  setText("tile-staff", staffing.on_duty ?? "no roster in force");
  setText("tile-ratio", tiles.patients_per_nurse_now ?? "–");
  setFlag("tile-staff-box", staffing.short_now > 0);
  setFlag("tile-required-box", staffing.short_now > 0);
  setFlag("tile-ratio-box", tiles.patients_per_nurse_now !== null && tiles.patients_per_nurse_now > ratio);
  setFlag("tile-risk-box", staffing.next_hour_at_risk !== null);
  setText("tile-compliance-24h", percent(tiles.compliance_24h));
  setText("tile-compliance-7d", percent(tiles.compliance_7d));
  const risk = staffing.next_hour_at_risk;
  setText("tile-risk", risk ? hourLabel.format(new Date(risk)) : staffing.lookahead ? "none in 72 h" : "no forecast yet");

  const form = document.getElementById("confirm-form");
  if (!form) return; // this user may not record
  const action = staffing.call_in ? "call_in" : staffing.release ? "release" : null;
  form.hidden = action === null;
  if (action) {
    const count = action === "call_in" ? staffing.call_in : staffing.release;
    document.getElementById("confirm-kind").value = action;
    document.getElementById("confirm-nurses").value = String(count);
    setText("confirm-button", action === "call_in" ? `Confirm call-in of ${nurses(count)}` : `Confirm release of ${nurses(count)}`);
  }
}

function render(snapshot) {
  current = snapshot;
  sequence = snapshot.seq;
  const { tiles, staffing } = snapshot;
  const { patients_per_nurse: ratio } = snapshot.department;
  renderStaffing(snapshot);
  renderAlerts(snapshot.alerts);

  const future = snapshot.forecast ? snapshot.forecast.points : [];
  const onDuty = new Map((snapshot.plan ? snapshot.plan.hours : []).map((hour) => [hour.hour, hour.planned_nurses]));
  const risky = new Map(staffing.hours_at_risk.map((hour) => [hour.hour, hour]));
  const hours = [...snapshot.actual.map((hour) => hour.hour), ...future.map((point) => point.hour)];
  const blank = (count) => Array(count).fill(null);
  const past = snapshot.actual.length;
  const censusActual = [...snapshot.actual.map((hour) => hour.census), ...blank(future.length)];
  const forecastMean = [...blank(past), ...future.map((point) => point.census_mean)];
  const forecastLower = [...blank(past), ...future.map((point) => point.census_lower)];
  const forecastUpper = [...blank(past), ...future.map((point) => point.census_upper)];
  const nursesOnDuty = hours.map((hour) => onDuty.get(hour) ?? null);
  // Nurses drawn as the patients they may care for, so the line sits where the unit turns short.
  const capacity = nursesOnDuty.map((count) => (count === null ? null : count * ratio));
  const atRisk = hours.map((hour, index) => (risky.has(hour) ? forecastMean[index] : null));
  const labels = hours.map((hour) => hourLabel.format(new Date(hour)));
  const values = [...censusActual, ...forecastUpper, ...capacity].filter((value) => value !== null);
  const top = Math.max(ratio * 2, Math.ceil((Math.max(0, ...values) * 1.1) / ratio) * ratio);

  draw("census-chart", {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "Forecast lower", data: forecastLower, borderWidth: 0, pointRadius: 0, yAxisID: "patients" },
        {
          label: "Upper 90 %",
          data: forecastUpper,
          borderWidth: 0,
          pointRadius: 0,
          backgroundColor: COLOURS.band,
          fill: "-1",
          yAxisID: "patients",
        },
        { label: "Patients", data: censusActual, borderColor: COLOURS.census, pointRadius: 0, yAxisID: "patients" },
        {
          label: "Patients expected",
          data: forecastMean,
          borderColor: COLOURS.forecast,
          borderDash: [6, 4],
          pointRadius: 0,
          yAxisID: "patients",
        },
        {
          label: `Nurses on duty × ${ratio}`,
          data: capacity,
          borderColor: COLOURS.planned,
          stepped: true,
          pointRadius: 0,
          yAxisID: "patients",
        },
        {
          label: "Likely short",
          data: atRisk,
          showLine: false,
          pointRadius: 5,
          pointStyle: "triangle",
          backgroundColor: COLOURS.risk,
          borderColor: COLOURS.risk,
          yAxisID: "patients",
        },
      ],
    },
    options: {
      scales: {
        patients: { position: "left", min: 0, max: top, title: { display: true, text: "patients" } },
        nurses: {
          position: "right",
          display: true,
          min: 0,
          max: top / ratio,
          grid: { drawOnChartArea: false },
          title: { display: true, text: `nurses (1 per ${ratio} patients)` },
        },
      },
      plugins: {
        legend: { labels: { filter: (item) => item.text !== "Forecast lower" } },
        tooltip: { filter: (item) => item.dataset.label !== "Forecast lower", callbacks: { label: tooltipLabel(ratio, risky, hours) } },
        nowLine: { index: past - 1 },
      },
    },
    plugins: [nowLinePlugin],
  });
  draw("arrivals-chart", {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "Arrivals", data: [...snapshot.actual.map((hour) => hour.arrivals), ...blank(future.length)], backgroundColor: COLOURS.arrivals },
        {
          type: "line",
          label: "Arrivals expected",
          data: [...blank(past), ...future.map((point) => point.arrivals_mean)],
          borderColor: COLOURS.forecast,
          borderDash: [6, 4],
          pointRadius: 0,
        },
      ],
    },
    options: {
      scales: { y: { beginAtZero: true, title: { display: true, text: "patients arriving" } } },
      plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${Math.round(item.parsed.y * 10) / 10}` } }, nowLine: { index: past - 1 } },
    },
    plugins: [nowLinePlugin],
  });

  const riskHours = staffing.hours_at_risk.length;
  setText(
    "census-summary",
    `${snapshot.verdict}. ` +
      (tiles.census_now === null ? "No census recorded this hour yet" : `${tiles.census_now} patients now, ${nurses(staffing.required_now ?? 0)} required`) +
      (staffing.on_duty !== null ? `, ${staffing.on_duty} on duty` : ", no roster in force") +
      (future.length ? `. Forecast for the next ${future.length} hours; ${riskHours} hour${riskHours === 1 ? "" : "s"} likely short.` : ". No forecast yet."),
  );
  const arrivalsToday = snapshot.actual.slice(-24).reduce((total, hour) => total + (hour.arrivals ?? 0), 0);
  setText("arrivals-summary", `${arrivalsToday} arrivals in the last 24 hours.`);
  root.dataset.rendered = String(sequence);
}

// Tooltips in whole patients and plain words.
function tooltipLabel(ratio, risky, hours) {
  return (item) => {
    const value = item.parsed.y;
    if (value === null || value === undefined) return null;
    switch (item.dataset.label) {
      case "Patients":
        return `Patients: ${value}`;
      case "Patients expected":
        return `Patients expected: about ${Math.round(value)}`;
      case "Upper 90 %":
        return `Upper 90 %: up to ${Math.ceil(value)} patients`;
      case "Likely short": {
        const hour = risky.get(hours[item.dataIndex]);
        return `Likely short: ${Math.round(100 * hour.p_short)} % chance, ${nurses(hour.staffed)} for about ${Math.round(value)} patients`;
      }
      default:
        return `Nurses on duty: ${nurses(value / ratio)} (care for ${value} patients)`;
    }
  };
}

// A vertical line at the current hour, labelled "now".
const nowLinePlugin = {
  id: "nowLine",
  afterDatasetsDraw(chart, _args, options) {
    if (options.index === undefined || options.index < 0) return;
    const x = chart.scales.x.getPixelForValue(options.index);
    const { top, bottom } = chart.chartArea;
    const context = chart.ctx;
    context.save();
    context.strokeStyle = "#1a1a1a";
    context.setLineDash([4, 3]);
    context.beginPath();
    context.moveTo(x, top);
    context.lineTo(x, bottom);
    context.stroke();
    context.setLineDash([]);
    context.fillStyle = "#1a1a1a";
    context.font = "12px system-ui, sans-serif";
    context.fillText("now", x + 4, top + 12);
    context.restore();
  },
};

function draw(id, config) {
  const base = { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false } };
  if (charts[id]) {
    charts[id].data = config.data;
    charts[id].options.scales = config.options.scales;
    charts[id].options.plugins = { ...charts[id].options.plugins, ...config.options.plugins };
    charts[id].update("none");
    return;
  }
  charts[id] = new window.Chart(document.getElementById(id), { ...config, options: { ...base, ...config.options } });
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${socketPath}`);
  socket.addEventListener("open", () => {
    attempts = 0;
    setStatus("Live", "live");
  });
  socket.addEventListener("message", (message) => {
    const data = JSON.parse(message.data);
    if (data.event === "snapshot") {
      render(data);
      return;
    }
    if (NAMED_EVENTS.has(data.event)) scheduleNamedRefresh();
    if (data.seq <= sequence) return; // already in the snapshot
    const next = data.seq === sequence + 1;
    if (next && current && data.event === "staffing.changed") {
      // The server judged the unit again: show its verdict at once, then re-read the rest.
      const staffing = data.payload.staffing;
      Object.assign(current, { seq: data.seq, staffing, verdict: data.payload.verdict });
      // Its census is the one it judged: the tiles show the same.
      if (staffing.census_now !== null) setCensusTiles(staffing.census_now, staffing.on_duty);
      sequence = data.seq;
      renderStaffing(current);
      scheduleRefetch();
      return;
    }
    if (next && current && data.event === "workload.changed" && data.payload.hours && applyHours(data.payload.hours)) {
      current.seq = data.seq;
      render(current);
      scheduleRefetch(SETTLE_MS);
      return;
    }
    sequence = data.seq;
    scheduleRefetch(); // another event, or a gap: the snapshot is the truth
  });
  socket.addEventListener("close", (event) => {
    if (event.code === 4401 || event.code === 4403) {
      setStatus("Not allowed to follow this department", "error");
      return;
    }
    const delay = Math.min(30000, 1000 * 2 ** attempts);
    attempts += 1;
    setStatus(`Live updates paused; reconnecting in ${Math.round(delay / 1000)} s`, "paused");
    setTimeout(connect, delay);
  });
}

// The parts drawn by the server (who is on duty by name, whom to call or send home, the offers, what was
// recorded today) are fetched again when the staffing, an offer or the roster changes.
const NAMED_EVENTS = new Set(["staffing.changed", "call_in.changed", "roster.ready"]);
const livePartials = [...document.querySelectorAll("[data-live-partial]")];
let namedTimer = null;

async function refreshPartial(element) {
  try {
    const response = await fetch(element.dataset.url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (response.ok) element.innerHTML = await response.text();
  } catch (error) {
    // The next event or the minute's refresh tries again.
  }
}

function scheduleNamedRefresh(delay = 300) {
  if (!livePartials.length || namedTimer) return;
  namedTimer = setTimeout(() => {
    namedTimer = null;
    livePartials.forEach(refreshPartial);
  }, delay);
}

// A safety net for a lossy feed (and for the embedded demo, whose in-memory channel layer
// does not reach commands run in other processes): re-read the snapshot every minute.
const REFRESH_MS = 60000;

loadSnapshot();
connect();
setInterval(() => {
  loadSnapshot();
  scheduleNamedRefresh(0);
}, REFRESH_MS);
