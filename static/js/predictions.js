// Past forecasts against what came: the census each hour as forecast beforehand (with its
// interval) and as recorded. The data is in the page (json_script), so nothing is fetched.

const rows = JSON.parse(document.getElementById("past-data").textContent);
const { timezone } = document.getElementById("predictions").dataset;
const hourLabel = new Intl.DateTimeFormat(undefined, { timeZone: timezone, weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

const forecastHours = rows.filter((row) => row.census_mean !== null && row.census !== null);
const summary = document.getElementById("past-summary");
if (!forecastHours.length) {
  summary.textContent = "No forecast covered the last 7 days.";
} else {
  const error = forecastHours.reduce((total, row) => total + Math.abs(row.census - row.census_mean), 0) / forecastHours.length;
  const inside = forecastHours.filter((row) => row.census >= row.census_lower && row.census <= row.census_upper).length;
  summary.textContent =
    `${forecastHours.length} hours had a forecast: census off by ${error.toFixed(1)} patients on average; ` +
    `${Math.round((100 * inside) / forecastHours.length)} % inside the forecast interval.`;
}

new Chart(document.getElementById("past-chart"), {
  type: "line",
  data: {
    labels: rows.map((row) => hourLabel.format(new Date(row.hour))),
    datasets: [
      { label: "Forecast upper", data: rows.map((row) => row.census_upper), borderWidth: 0, pointRadius: 0, fill: "+1", backgroundColor: "rgba(86, 180, 233, 0.25)" },
      { label: "Forecast lower", data: rows.map((row) => row.census_lower), borderWidth: 0, pointRadius: 0, fill: false },
      { label: "Forecast census", data: rows.map((row) => row.census_mean), borderColor: "#56B4E9", borderDash: [6, 4], pointRadius: 0 },
      { label: "Census recorded", data: rows.map((row) => row.census), borderColor: "#0072B2", pointRadius: 0 },
    ],
  },
  options: {
    animation: false,
    maintainAspectRatio: false,
    interaction: { mode: "index", intersect: false },
    plugins: { legend: { labels: { filter: (item) => !item.text.startsWith("Forecast upper") && !item.text.startsWith("Forecast lower") } } },
    scales: { x: { ticks: { maxTicksLimit: 14 } }, y: { beginAtZero: true, title: { display: true, text: "patients" } } },
  },
});
