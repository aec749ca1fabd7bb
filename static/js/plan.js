// A plan still queued or running: poll its status and reload the page once it has finished.

const status = document.getElementById("run-status");
const LABELS = { queued: "Queued: waiting for a worker…", running: "Running: solving the roster…" };

async function poll(delay) {
  try {
    const response = await fetch(status.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) {
      const run = await response.json();
      if (run.status === "succeeded" || run.status === "failed") {
        window.location.reload();
        return;
      }
      status.textContent = LABELS[run.status] || run.status;
    }
  } catch (error) {
    status.textContent = "Waiting for the server…";
  }
  setTimeout(() => poll(Math.min(delay * 1.5, 10000)), delay);
}

poll(1000);
