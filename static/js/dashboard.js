// One department's dashboard: draws the snapshot (REST or websocket) and follows the live feed.
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

const hourLabel = new Intl.DateTimeFormat(undefined, {
  timeZone: timezone,
  weekday: "short",
  hour: "2-digit",
  minute: "2-digit",
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
// (a new hour began since the snapshot), and the snapshot must be re-read instead.
function applyHours(hours) {
  const index = new Map(current.actual.map((hour, position) => [hour.hour, position]));
  if (!hours.every((hour) => index.has(hour.hour))) return false;
  for (const hour of hours) {
    Object.assign(current.actual[index.get(hour.hour)], { census: hour.census, arrivals: hour.arrivals });
  }
  const { patients_per_nurse: ratio, min_nurses: minimum } = current.department;
  const censusNow = current.actual[current.actual.length - 1].census;
  const staff = current.tiles.staff_on_duty;
  Object.assign(current.tiles, {
    census_now: censusNow,
    nurses_required_now: required(censusNow, ratio, minimum),
    patients_per_nurse_now: staff && censusNow !== null ? Math.round((100 * censusNow) / staff) / 100 : null,
  });
  return true;
}

function required(census, ratio, minimum) {
  return census === null ? null : Math.max(minimum, Math.ceil(census / ratio - 1e-9));
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

function render(snapshot) {
  current = snapshot;
  sequence = snapshot.seq;
  const { tiles } = snapshot;
  const { patients_per_nurse: ratio, min_nurses: minimum } = snapshot.department;
  setText("tile-census", tiles.census_now ?? "no data this hour");
  setText("tile-required", tiles.nurses_required_now ?? "–");
  setText("tile-staff", tiles.staff_on_duty ?? "no plan");
  setText("tile-ratio", tiles.patients_per_nurse_now ?? "–");
  setText("tile-compliance-24h", percent(tiles.compliance_24h));
  setText("tile-compliance-7d", percent(tiles.compliance_7d));
  renderAlerts(snapshot.alerts);
  setText("tile-risk", tiles.next_hour_at_risk ? hourLabel.format(new Date(tiles.next_hour_at_risk)) : "none in 72 h");

  const future = snapshot.forecast ? snapshot.forecast.points : [];
  const planned = new Map((snapshot.plan ? snapshot.plan.hours : []).map((hour) => [hour.hour, hour.planned_nurses]));
  const hours = [...snapshot.actual.map((hour) => hour.hour), ...future.map((point) => point.hour)];
  const blank = (count) => Array(count).fill(null);
  const past = snapshot.actual.length;
  const censusActual = [...snapshot.actual.map((hour) => hour.census), ...blank(future.length)];
  const forecastMean = [...blank(past), ...future.map((point) => point.census_mean)];
  const forecastLower = [...blank(past), ...future.map((point) => point.census_lower)];
  const forecastUpper = [...blank(past), ...future.map((point) => point.census_upper)];
  const plannedNurses = hours.map((hour) => planned.get(hour) ?? null);
  const requiredNurses = hours.map((hour, index) =>
    required(index < past ? censusActual[index] : forecastMean[index], ratio, minimum),
  );
  const atRisk = hours.map((hour, index) => {
    const nurses = plannedNurses[index];
    const upper = index < past ? censusActual[index] : forecastUpper[index];
    return nurses !== null && upper !== null && upper > ratio * nurses ? upper : null;
  });
  const labels = hours.map((hour) => hourLabel.format(new Date(hour)));

  draw("census-chart", {
    type: "line",
    data: {
      labels,
      datasets: [
        { label: "Forecast lower", data: forecastLower, borderWidth: 0, pointRadius: 0, yAxisID: "patients" },
        {
          label: "Forecast interval",
          data: forecastUpper,
          borderWidth: 0,
          pointRadius: 0,
          backgroundColor: COLOURS.band,
          fill: "-1",
          yAxisID: "patients",
        },
        { label: "Census", data: censusActual, borderColor: COLOURS.census, pointRadius: 0, yAxisID: "patients" },
        {
          label: "Forecast census",
          data: forecastMean,
          borderColor: COLOURS.forecast,
          borderDash: [6, 4],
          pointRadius: 0,
          yAxisID: "patients",
        },
        {
          label: "Nurses planned",
          data: plannedNurses,
          borderColor: COLOURS.planned,
          stepped: true,
          pointRadius: 0,
          yAxisID: "nurses",
        },
        {
          label: "Nurses required",
          data: requiredNurses,
          borderColor: COLOURS.required,
          stepped: true,
          borderDash: [2, 3],
          pointRadius: 0,
          yAxisID: "nurses",
        },
        {
          label: "Hour at risk",
          data: atRisk,
          showLine: false,
          pointRadius: 4,
          pointStyle: "triangle",
          backgroundColor: COLOURS.risk,
          borderColor: COLOURS.risk,
          yAxisID: "patients",
        },
      ],
    },
    options: {
      scales: {
        patients: { position: "left", beginAtZero: true, title: { display: true, text: "patients" } },
        nurses: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "nurses" } },
      },
      plugins: { legend: { labels: { filter: (item) => item.text !== "Forecast lower" } } },
    },
  });
  draw("arrivals-chart", {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: "Arrivals", data: [...snapshot.actual.map((hour) => hour.arrivals), ...blank(future.length)], backgroundColor: COLOURS.arrivals },
        {
          type: "line",
          label: "Forecast arrivals",
          data: [...blank(past), ...future.map((point) => point.arrivals_mean)],
          borderColor: COLOURS.forecast,
          borderDash: [6, 4],
          pointRadius: 0,
        },
      ],
    },
    options: { scales: { y: { beginAtZero: true } } },
  });

  const riskHours = atRisk.filter((value, index) => value !== null && index >= past).length;
  setText(
    "census-summary",
    (tiles.census_now === null ? "No data for this hour yet" : `Census now ${tiles.census_now}, ${tiles.nurses_required_now} nurses required`) +
      (tiles.staff_on_duty ? `, ${tiles.staff_on_duty} planned on duty` : ", no plan yet") +
      (future.length ? `. Forecast for the next ${future.length} hours; ${riskHours} hours at risk.` : ". No forecast yet."),
  );
  const arrivalsToday = snapshot.actual.slice(-24).reduce((total, hour) => total + (hour.arrivals ?? 0), 0);
  setText("arrivals-summary", `${arrivalsToday} arrivals in the last 24 hours.`);
  root.dataset.rendered = String(sequence);
}

function draw(id, config) {
  const base = { animation: false, responsive: true, maintainAspectRatio: false, interaction: { mode: "index", intersect: false } };
  if (charts[id]) {
    charts[id].data = config.data;
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
    if (data.seq <= sequence) return; // already in the snapshot
    const next = data.seq === sequence + 1;
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

// A safety net for a lossy feed (and for the embedded demo, whose in-memory channel layer
// does not reach commands run in other processes): re-read the snapshot every minute.
const REFRESH_MS = 60000;

loadSnapshot();
connect();
setInterval(loadSnapshot, REFRESH_MS);
