"""Counters of ingestion, exposed on /metrics with the rest of the product's figures (monitoring_app.metrics)."""

from prometheus_client import Counter

INGEST_ROWS = Counter("hospital_ingest_rows_total", "Rows stored by ingestion, by kind and result.", ["kind", "result"])
