"""A bare DRF project over the product's own encounters table: the serving baseline.

What a minimal Django REST framework app costs on this machine, so the product's figures can be
read as a ratio: no authentication, permissions, audit, rate limits or metrics; one middleware;
JSON only; persistent database connections (the usual setting for sync workers). It reads the
database that bench/serving.py prepared (DATABASE_URL), never migrates it, and writes only the
encounters of its write baseline (source "bare-write-...", which serving.py deletes again).
"""

import os

import environ

SECRET_KEY = os.environ.get("SECRET_KEY") or "bare-baseline-only-never-served-beyond-127.0.0.1"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "rest_framework",
    "bench.serving_bare",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "bench.serving_bare.urls"
WSGI_APPLICATION = "bench.serving_bare.wsgi.application"

DATABASES = {"default": environ.Env.db_url_config(os.environ["DATABASE_URL"])}
# Persistent connections: each sync worker keeps its one connection between requests.
DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("BARE_CONN_MAX_AGE", "600"))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}

USE_TZ = True
TIME_ZONE = "UTC"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
