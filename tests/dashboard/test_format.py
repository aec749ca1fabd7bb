"""The percent filter: shares as percentages that never round a shortfall up to 100 %."""

import pytest
from django.template import Context, Template

from dashboard.templatetags.dashboard_format import percent


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.9862, "98.6 %"),
        (1.0, "100.0 %"),
        (0.0, "0.0 %"),
        (0.5, "50.0 %"),
        (0.99996, "99.9 %"),
        (0.9995, "99.9 %"),
        (0.99949, "99.9 %"),
        ("0.25", "25.0 %"),
    ],
)
def test_a_share_is_written_as_a_percentage_with_one_decimal(value, text):
    assert percent(value) == text


@pytest.mark.parametrize("value", [None, ""])
def test_a_missing_share_is_a_dash(value):
    assert percent(value) == "–"


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.9862, 0, "99 %"),
        (0.996, 0, "99 %"),
        (1.0, 0, "100 %"),
        (0.5, 0, "50 %"),
        (0.999996, 2, "99.99 %"),
        (0.98766, 2, "98.77 %"),
    ],
)
def test_the_number_of_decimals_can_be_chosen(value, digits, text):
    assert percent(value, digits) == text


def test_the_filter_works_in_templates():
    template = Template("{% load dashboard_format %}{{ a|percent }} {{ b|percent:0 }} {{ c|percent }}")
    assert template.render(Context({"a": 0.9862, "b": 0.996, "c": None})) == "98.6 % 99 % –"
