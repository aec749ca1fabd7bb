"""The Celery app. Configuration is the CELERY_* block of settings.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcare.settings")

app = Celery("healthcare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
