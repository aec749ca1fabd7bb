from django import template

register = template.Library()


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.9862 -> '98.6 %'; None -> '–'. Never rounds a shortfall up to 100 %."""
    if value is None or value == "":
        return "–"
    scaled = float(value) * 100
    text = f"{scaled:.{int(digits)}f}"
    if float(text) >= 100 and scaled < 100:
        text = f"{100 - 10 ** -int(digits):.{int(digits)}f}"
    return f"{text} %"


@register.filter
def iso_datetime(value: str):
    """'2026-11-26T08:00:00Z' -> an aware datetime, for |date inside {% timezone %} blocks."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
