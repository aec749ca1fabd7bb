"""The Celery app. Configuration is the CELERY_* block of settings.py."""

import os

from celery import Celery, signals

from healthcare import logs

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcare.settings")

app = Celery("healthcare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Log lines of a task carry the id of the request that queued it (healthcare/logs.py).
signals.before_task_publish.connect(logs.task_headers_add, dispatch_uid="healthcare.logs.task_headers_add")
signals.task_prerun.connect(logs.task_context_enter, dispatch_uid="healthcare.logs.task_context_enter")
signals.task_postrun.connect(logs.task_context_leave, dispatch_uid="healthcare.logs.task_context_leave")
