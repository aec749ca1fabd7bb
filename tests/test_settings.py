"""Settings come from the environment; production refuses to start without real secrets."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
STRONG_SECRET = "s" * 60
STRONG_PSEUDONYM = "p" * 40
PRINT = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.CHANNEL_LAYERS['default']['BACKEND'], s.CELERY_TASK_ALWAYS_EAGER, s.DATABASES['default']['ENGINE'], "
    "s.CACHES['default']['BACKEND'])"
)


def load_settings(script: str = PRINT, **env) -> subprocess.CompletedProcess:
    """Run `script` in a fresh interpreter on healthcare.settings with env over a cleaned environment."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {"DEBUG", "SECRET_KEY", "PSEUDONYM_KEY", "ALLOWED_HOSTS", "REDIS_URL", "DATABASE_URL", "SECRET_KEY_FILE"}
    }
    clean.update(DJANGO_SETTINGS_MODULE="healthcare.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=clean, capture_output=True, text=True, timeout=60
    )


def production(**env) -> dict:
    values = {
        "DEBUG": "false",
        "SECRET_KEY": STRONG_SECRET,
        "PSEUDONYM_KEY": STRONG_PSEUDONYM,
        "ALLOWED_HOSTS": "ward.example.org",
    }
    values.update(env)
    return {k: v for k, v in values.items() if v is not None}


def test_embedded_default_is_sqlite_in_memory_layer_and_eager_celery():
    result = load_settings(DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "channels.layers.InMemoryChannelLayer",
        "True",
        "django_prometheus.db.backends.sqlite3",
        "django_prometheus.cache.backends.locmem.LocMemCache",
    ]


def test_redis_url_switches_to_channels_redis_a_redis_cache_and_real_workers():
    result = load_settings(**production(REDIS_URL="redis://127.0.0.1:6379/5", DATABASE_URL="postgres://u@db:5432/h"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "channels_redis.core.RedisChannelLayer",
        "False",
        "django_prometheus.db.backends.postgresql",
        "healthcare.caching.SharedClientRedisCache",
    ]


@pytest.mark.parametrize(("flag", "expected"), [(None, "True 5"), ("false", "None None")])
def test_prepared_statements_are_on_unless_turned_off(flag, expected):
    env = production(DATABASE_URL="postgres://u@db:5432/h", DB_PREPARED_STATEMENTS=flag)
    show = (
        "import django; django.setup(); from django.conf import settings as s; "
        "o = s.DATABASES['default']['OPTIONS']; print(o.get('server_side_binding'), o.get('prepare_threshold'))"
    )
    result = load_settings(show, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        (production(SECRET_KEY=None), "SECRET_KEY is not set"),
        (production(SECRET_KEY="dev-only-secret-key-do-not-use-in-production"), "SECRET_KEY is not set"),
        (production(SECRET_KEY="short"), "SECRET_KEY must be at least 50"),
        (production(PSEUDONYM_KEY=None), "PSEUDONYM_KEY is not set"),
        (production(PSEUDONYM_KEY="dev-only-pseudonym-key-do-not-use-in-production"), "PSEUDONYM_KEY is not set"),
        (production(ALLOWED_HOSTS=None), "ALLOWED_HOSTS is empty"),
        (production(LOG_FORMAT="xml"), "LOG_FORMAT must be json or plain"),
        (production(CELERY_JOB_TIME_LIMIT="30"), "CELERY_JOB_TIME_LIMIT must be at least 60 s"),
        (production(CELERY_TASK_TIME_LIMIT="600", CELERY_JOB_TIME_LIMIT="900"), "at most CELERY_TASK_TIME_LIMIT"),
    ],
)
def test_production_refuses_to_start_without_real_secrets(env, complaint):
    result = load_settings(**env)
    assert result.returncode != 0
    assert complaint in result.stderr


def test_secrets_may_come_from_files_and_lose_the_newline_at_their_end(tmp_path):
    secret, token = tmp_path / "secret", tmp_path / "token"
    secret.write_text(STRONG_SECRET + "\n")
    token.write_text("scrape-token-0123456789abcdef\n")
    env = production(SECRET_KEY=None, SECRET_KEY_FILE=str(secret), METRICS_TOKEN_FILE=str(token))
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(repr(s.SECRET_KEY), repr(s.METRICS_TOKEN))"
    )
    result = load_settings(script, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [repr(STRONG_SECRET), repr("scrape-token-0123456789abcdef")]


def test_an_unknown_private_piece_is_refused_by_name():
    result = load_settings(**production(PUBLIC_API_FOR="statements,warp-drive"))
    assert result.returncode != 0
    assert "PUBLIC_API_FOR: unknown ['warp-drive']" in result.stderr


def test_the_serving_bench_audits_every_private_piece_on_a_scenario_it_measures():
    from django.conf import settings

    from bench.serving import PIECE_SCENARIOS

    assert set(PIECE_SCENARIOS) == set(settings.PRIVATE_PIECES)
    assert set(PIECE_SCENARIOS.values()) <= {"read", "write"}
