"""gunicorn for pages, the API and the admin (websockets go to daphne; deploy/nginx.conf splits by path).

Sync workers: on this workload two of them served 3.3-3.5x what one daphne process did on the same
two cores (1.3-1.6x in a run on a busier machine; bench/serving.py, README). Every value can be
overridden from the environment.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
worker_class = "sync"
# A request that takes longer than this is stuck: the worker is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
# Recycle workers now and then so a slow leak cannot grow for ever, each at a random point within
# half as many requests again so that they are not replaced together. A new worker needs about
# 1.3 s to import the app before it answers. With 5000 (jitter 500) both workers were replaced in
# the same second every 15 s of full load on this machine: a pause that gave p99 0.9-1.2 s.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 50_000))
max_requests_jitter = max_requests // 2
# Behind nginx on the same host or network: trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "*")
accesslog = None  # request logs come from the application as JSON (healthcare/logs.py)
errorlog = "-"


def child_exit(server, worker):
    """With PROMETHEUS_MULTIPROC_DIR, a worker that exits must leave the merged live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
