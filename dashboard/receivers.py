"""What the dashboards push live: each receiver turns another app's signal into a department event.

The signals are sent after commit, so a page never sees work that was rolled back.
"""

from dashboard.broadcast import broadcast_department_event
from healthcare.encounters.models import Department


def workload_push(sender, department_code: str, change: dict, **kwargs) -> None:
    broadcast_department_event(department_code, "workload.changed", change)


def forecast_push(sender, department_code: str, forecast_id: str, **kwargs) -> None:
    broadcast_department_event(department_code, "forecast.ready", {"forecast_id": forecast_id})


def plan_push(sender, department_code: str, optimization_id: str, **kwargs) -> None:
    broadcast_department_event(department_code, "plan.ready", {"optimization_id": optimization_id})


def alert_push(sender, department_code: str, change: str, alert: dict, **kwargs) -> None:
    broadcast_department_event(department_code, f"alert.{change}", alert)


def staffing_push(sender, department_code: str, staffing: dict, verdict: dict, **kwargs) -> None:
    broadcast_department_event(department_code, "staffing.changed", {"staffing": staffing, "verdict": verdict})


def roster_push(sender, department_id: int, roster_id: str, **kwargs) -> None:
    broadcast_department_event(_code(department_id), "roster.ready", {"roster_id": roster_id})


def call_in_push(sender, department_id: int, offer_id: int, nurse: str, status: str, **kwargs) -> None:
    broadcast_department_event(
        _code(department_id), "call_in.changed", {"offer_id": offer_id, "nurse": nurse, "status": status}
    )


def _code(department_id: int) -> str:
    return Department.objects.values_list("code", flat=True).get(pk=department_id)
