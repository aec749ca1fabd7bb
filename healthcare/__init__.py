"""Project package: settings and wiring (URLs, ASGI, WSGI, Celery) plus the core app, encounters."""

# Importing the Celery app here makes `celery -A healthcare` find it and binds
# @shared_task to it in every process that loads Django.
from healthcare.celery import app as celery_app

__all__ = ["celery_app"]
