"""The project's ASGI application with static files served, for benchmarks that open real pages.

(Production serves /static/ from the reverse proxy; daphne alone does not serve it.)
"""

import django

django.setup()

from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from healthcare.asgi import application as project_application  # noqa: E402

application = ASGIStaticFilesHandler(project_application)
