"""The product's Celery worker with one change: computing a staffing plan takes SLOW_PLAN_SECONDS longer,
so a test can kill the worker in the middle of a job. The app, its settings, the task, the job row and the
broker are the product's own.

Each plan computation appends a line to the file SLOW_PLAN_MARKS when it starts and when it is done:
`start|done <run id> <worker name> <pid of the process computing it> <time.time()>`.

    python -m tests.ops.slow_worker worker -l info --concurrency 1 -n name@%h
"""

import os
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcare.settings")
    import django

    django.setup()
    from celery import current_task

    from optimization.services import runs

    seconds = float(os.environ["SLOW_PLAN_SECONDS"])
    marks = os.environ["SLOW_PLAN_MARKS"]
    compute = runs.plan_compute

    def mark(what: str) -> None:
        request = current_task.request
        line = f"{what} {request.args[0]} {request.hostname} {os.getpid()} {time.time():.3f}\n".encode()
        descriptor = os.open(marks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, line)  # one write of a short line with O_APPEND: never interleaved
        finally:
            os.close(descriptor)

    def slow_plan_compute(**kwargs):
        mark("start")
        time.sleep(seconds)
        result = compute(**kwargs)
        mark("done")
        return result

    # optimization_run looks plan_compute up in its module when it runs, so this reaches the pool processes.
    runs.plan_compute = slow_plan_compute

    from healthcare.celery import app

    app.worker_main(sys.argv[1:])


if __name__ == "__main__":
    main()
