"""Live servers on the test database, for tests that drive the product over real sockets."""

import contextlib
from functools import partial

import pytest
from django.db import connections


@contextlib.contextmanager
def daphne_serving(django_db_blocker):
    """Base URL of a daphne process serving the full ASGI stack (HTTP, websockets, static files)
    on the test database, for as long as the block runs."""
    from channels.testing.live import make_application
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    process = DaphneProcess("127.0.0.1", partial(make_application, static_wrapper=ASGIStaticFilesHandler))
    with django_db_blocker.unblock():
        # The child must open its own connections, not share the parent's sockets; forked
        # here, it inherits database access unblocked.
        connections.close_all()
        for connection in connections.all():
            if hasattr(connection, "close_pool"):  # PostgreSQL: nor the parent's pool
                connection.close_pool()
        # No worker runs beside it: its tasks (alert checks after a census or duty change) run in
        # the request, as the tests' own do. This is set up before the per-test celery_eager,
        # so the fork must not inherit the configured (Redis) broker.
        from healthcare.celery import app

        saved = app.conf.task_always_eager, app.conf.task_eager_propagates
        app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
        try:
            process.start()
        finally:
            app.conf.task_always_eager, app.conf.task_eager_propagates = saved
    if not process.ready.wait(timeout=30):
        process.terminate()
        pytest.fail("the test ASGI server did not start within 30 s")
    try:
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(timeout=10)
