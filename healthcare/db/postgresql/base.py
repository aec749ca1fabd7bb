"""The PostgreSQL backend in production: django-prometheus' (Django's own, counting queries and their
latency for /metrics), reading timestamps with psycopg's C parser.

Django reads every timestamptz through a loader derived from psycopg's pure-Python one (to set the
connection's timezone on the value), so psycopg-binary's C parser is never used for them: 50
encounters (six timestamps each with their department) cost about 2 ms of parsing alone. psycopg's
C loader cannot be subclassed (Django ticket #36960, psycopg issue #1273); FastTzLoader calls it
and then does what Django's does.
"""

from functools import lru_cache

import psycopg
from django.conf import settings
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from django_prometheus.db.backends.postgresql import base
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid
# The C class when psycopg-binary is installed (psycopg's public map hands out the fastest it has).
_PARSER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class FastTzLoader(Loader):
    """A timestamptz parsed by psycopg's loader, then given `timezone` as Django's loader gives it
    (Django sets the session's time zone to the same one, so this labels and never shifts)."""

    timezone = None  # Django's create_cursor() compares it with the connection's

    def __init__(self, oid, context=None):
        super().__init__(oid, context)
        self._parse = _PARSER(oid, context).load

    def load(self, data):
        return self._parse(data).replace(tzinfo=self.timezone)


@lru_cache
def adapters_template(use_tz: bool, timezone) -> AdaptersMap:
    """Django's adapters for new connections, with FastTzLoader in place of its timestamptz loader."""
    adapters = AdaptersMap(get_adapters_template(use_tz, timezone))
    loader = type("FastTzLoader", (FastTzLoader,), {"timezone": timezone, "__module__": __name__})
    adapters.register_loader("timestamptz", loader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        params["context"] = adapters_template(settings.USE_TZ, self.timezone)
        return params
