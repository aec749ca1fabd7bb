// A roster still queued or being solved: show its progress and reload the page once it has finished.

const status = document.getElementById("roster-status");
const LABELS = { queued: "Queued: waiting for a worker…", running: "Solving" };

async function poll(delay) {
  try {
    const response = await fetch(status.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) {
      const roster = await response.json();
      if (roster.status === "succeeded" || roster.status === "failed") {
        window.location.reload();
        return;
      }
      const share = Math.round((roster.progress || 0) * 100);
      status.textContent = roster.status === "running" ? `${LABELS.running}: ${share} % of the time limit used…` : LABELS.queued;
    }
  } catch (error) {
    status.textContent = "Waiting for the server…";
  }
  setTimeout(() => poll(Math.min(delay * 1.3, 5000)), delay);
}

poll(1000);
