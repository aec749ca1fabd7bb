"""WSGI entry point: gunicorn serves pages, API and admin in production."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcare.settings")

application = get_wsgi_application()
