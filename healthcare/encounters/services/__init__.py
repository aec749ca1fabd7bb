"""Writes of the patient-flow data: departments, ingestion, and the derived hourly workload."""

from healthcare.encounters.services.departments import department_create, department_update
from healthcare.encounters.services.events import EventRecord, EventSummary, events_apply
from healthcare.encounters.services.ingest import (
    IngestError,
    IngestSummary,
    Progress,
    arrivals_ingest,
    encounters_ingest,
)
from healthcare.encounters.services.workload import (
    WorkloadChange,
    department_workload_rebuild,
    workload_hour_compute,
    workload_hour_now,
    workload_rebuild,
    workload_refresh_recent,
)

__all__ = [
    "EventRecord",
    "EventSummary",
    "events_apply",
    "IngestError",
    "IngestSummary",
    "Progress",
    "WorkloadChange",
    "arrivals_ingest",
    "department_create",
    "department_update",
    "department_workload_rebuild",
    "encounters_ingest",
    "workload_hour_compute",
    "workload_hour_now",
    "workload_rebuild",
    "workload_refresh_recent",
]
