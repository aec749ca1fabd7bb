"""Counters of ingestion, exposed on /metrics with the rest of the product's figures (monitoring_app.metrics)."""

from prometheus_client import Counter, Histogram

INGEST_ROWS = Counter("hospital_ingest_rows_total", "Rows stored by ingestion, by kind and result.", ["kind", "result"])

# The HL7 listener's own figures (hl7_listen --metrics-port); the database's view of the same messages,
# by outcome, is in /metrics as hospital_hl7_messages_recent.
HL7_MESSAGES = Counter(
    "hospital_hl7_messages_total",
    "ADT messages answered, by trigger, acknowledgement code and reason (what it did, or the field refused).",
    ["trigger", "outcome", "reason"],
)
HL7_ACK_SECONDS = Histogram(
    "hospital_hl7_ack_seconds",
    "Time from a whole message read to its acknowledgement ready (parse, apply, commit).",
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
