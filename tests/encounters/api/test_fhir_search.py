"""GET /api/v1/fhir/Encounter?...: search, answered as a searchset Bundle."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import override_settings

from healthcare.encounters import services
from healthcare.encounters.models import Encounter
from tests.encounters.api.conftest import NOW, issues
from tests.factories import encounter_record, hour

URL = "http://testserver/api/v1/fhir/Encounter"


@pytest.fixture
def reader(fhir, ed_staff):
    fhir.client.force_authenticate(ed_staff)
    return fhir


def recent(hours_ago: float) -> datetime:
    """A moment of the last days (a stay still open must have begun within a year)."""
    return NOW - timedelta(hours=hours_ago)


def store(source: str, *records) -> None:
    services.encounters_ingest(records=list(records), source=source)


def ids(response) -> list[str]:
    return [entry["resource"]["id"] for entry in response.fhir.get("entry", [])]


def source_ids(response) -> list[str]:
    return [entry["resource"]["identifier"][0]["value"] for entry in response.fhir.get("entry", [])]


def test_a_search_is_a_searchset_bundle_with_total_links_and_full_urls(reader, ed):
    store("fhir", encounter_record("F1", start=hour(5, 10), hours=2))
    response = reader.get("/Encounter", {"status": "finished"})
    assert response.status_code == 200
    bundle = response.fhir
    assert (bundle["resourceType"], bundle["type"], bundle["total"]) == ("Bundle", "searchset", 1)
    assert bundle["link"] == [{"relation": "self", "url": f"{URL}?status=finished&_count=20"}]
    (entry,) = bundle["entry"]
    assert entry["fullUrl"] == f"{URL}/F1"
    assert entry["search"] == {"mode": "match"}
    assert entry["resource"]["id"] == "F1"


def test_search_by_patient_pseudonymises_the_raw_id_as_ingestion_does(reader, ed):
    store("fhir", encounter_record("F1", start=recent(9), patient="MRN-1"))
    store("synthea-csv", encounter_record("S1", start=recent(8), patient="MRN-1"))
    store("fhir", encounter_record("F2", start=recent(7), patient="MRN-2"))
    assert sorted(source_ids(reader.get("/Encounter", {"patient": "Patient/MRN-1"}))) == ["F1", "S1"]
    assert sorted(source_ids(reader.get("/Encounter", {"patient": "MRN-1"}))) == ["F1", "S1"]
    assert sorted(source_ids(reader.get("/Encounter", {"patient": "MRN-1,MRN-2"}))) == ["F1", "F2", "S1"]
    assert reader.get("/Encounter", {"patient": "MRN-3"}).fhir["total"] == 0


def test_search_by_status_class_and_location(reader, ed, icu, ed_staff):
    icu.members.add(ed_staff)
    store("fhir", encounter_record("F1", start=recent(9), hours=1, encounter_class="EMER"))
    store("fhir", encounter_record("F2", start=recent(8), encounter_class="IMP", department="ICU"))
    store("synthea-csv", encounter_record("S1", start=recent(7), encounter_class="emergency"))
    assert source_ids(reader.get("/Encounter", {"status": "in-progress"})) == ["S1", "F2"]
    assert source_ids(reader.get("/Encounter", {"status": "finished,cancelled"})) == ["F1"]
    assert source_ids(reader.get("/Encounter", {"class": "IMP"})) == ["F2"]
    act_code = "http://terminology.hl7.org/CodeSystem/v3-ActCode|EMER"
    assert source_ids(reader.get("/Encounter", {"class": act_code})) == ["F1"]
    synthea = "urn:hospital-workload:encounter-class:synthea-csv|emergency"
    assert source_ids(reader.get("/Encounter", {"class": synthea})) == ["S1"]
    assert source_ids(reader.get("/Encounter", {"class": "http://elsewhere|EMER"})) == []
    assert source_ids(reader.get("/Encounter", {"location": "Location/ICU"})) == ["F2"]
    assert source_ids(reader.get("/Encounter", {"location": "ED"})) == ["S1", "F1"]
    both = reader.get("/Encounter", {"location": "ED", "status": "in-progress"})
    assert source_ids(both) == ["S1"]


def test_search_by_id_finds_client_ids_and_row_numbers(reader, ed):
    store("fhir", encounter_record("F1", start=recent(5)))
    store("hl7-stmarys", encounter_record("V1/e2", start=recent(4)))
    transfer = Encounter.objects.get(source_id="V1/e2")
    response = reader.get("/Encounter", {"_id": f"F1,{transfer.pk}"})
    assert sorted(source_ids(response)) == ["F1", "V1/e2"]
    assert reader.get("/Encounter", {"_id": "99999999999999999999999"}).fhir["total"] == 0


def test_search_sees_only_your_departments(reader, ed, icu):
    store("fhir", encounter_record("F1", start=recent(5)))
    store("fhir", encounter_record("F2", start=recent(5), department="ICU"))
    response = reader.get("/Encounter")
    assert response.fhir["total"] == 1 and source_ids(response) == ["F1"]
    assert reader.get("/Encounter", {"location": "ICU"}).fhir["total"] == 0


# Stays of Jan 5th 2024 (UTC): one inside the day, one across its start, one across its end, one still open.
STAYS = {
    "inside": (hour(5, 10), hour(5, 12)),
    "from-the-4th": (hour(4, 22), hour(5, 2)),
    "into-the-6th": (hour(5, 22), hour(6, 2)),
    "open": (hour(5, 20), None),
    "on-the-3rd": (hour(3, 10), hour(3, 12)),
}


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (["2024-01-05"], {"inside"}),
        (["eq2024-01-05"], {"inside"}),
        (["ne2024-01-05"], {"from-the-4th", "into-the-6th", "open", "on-the-3rd"}),
        (["gt2024-01-05"], {"into-the-6th", "open"}),
        (["ge2024-01-05"], {"into-the-6th", "open", "inside"}),
        (["lt2024-01-05"], {"from-the-4th", "on-the-3rd"}),
        (["le2024-01-05"], {"from-the-4th", "on-the-3rd", "inside"}),
        (["sa2024-01-04"], {"inside", "into-the-6th", "open"}),
        (["eb2024-01-05"], {"on-the-3rd"}),
        (["2024-01"], {"inside", "from-the-4th", "into-the-6th", "on-the-3rd"}),
        (["2024"], {"inside", "from-the-4th", "into-the-6th", "on-the-3rd"}),
        (["eq2024-01-05T10:00:00Z"], set()),
        (["ge2024-01-05T11:00Z"], {"inside", "into-the-6th", "open"}),
        (["gt2024-01-05T00:00:00Z", "lt2024-01-05T21:00:00Z"], {"from-the-4th", "inside", "open"}),
        (["ge2024-01-05T10:00:00+01:00", "le2024-01-05T10:00:00+01:00"], set()),
    ],
)
def test_date_prefixes_compare_the_period_with_the_range_the_value_spans(reader, ed, date, expected):
    for name, (start, end) in STAYS.items():
        status = "finished" if end else "unknown"  # open, and begun more than a year ago
        store("fhir", encounter_record(name, start=start, end=end, status=status))
    with override_settings(HOSPITAL_TIME_ZONE="UTC"):
        response = reader.get("/Encounter", {"date": date, "_count": 100})
    assert set(source_ids(response)) == expected


def test_a_date_without_a_time_zone_is_in_the_hospitals(reader, ed):
    # 23:00-23:30 UTC on Jan 4th is Jan 5th in Berlin.
    store("fhir", encounter_record("late", start=datetime(2024, 1, 4, 23, tzinfo=UTC), hours=0.5))
    with override_settings(HOSPITAL_TIME_ZONE="Europe/Berlin"):
        assert source_ids(reader.get("/Encounter", {"date": "2024-01-05"})) == ["late"]
        assert source_ids(reader.get("/Encounter", {"date": "2024-01-04"})) == []


@pytest.mark.parametrize("date", ["xx2024-01-05", "ap2024-01-05", "2024-1-5", "2024-01-05T10", "on 2024"])
def test_a_bad_date_prefix_or_form_is_a_400_naming_the_parameter(reader, ed, date):
    response = reader.get("/Encounter", {"date": date})
    assert response.status_code == 400
    assert issues(response) == [("value", ["http.date"])]
    assert "eq, ne, gt, lt, ge, le, sa, eb" in response.fhir["issue"][0]["diagnostics"]


@pytest.mark.parametrize("date", ["2024-13", "2024-02-30", "2024-01-05T25:00Z", "2024-01-05T10:00+15:00", "0000"])
def test_a_date_that_does_not_exist_is_a_400(reader, ed, date):
    response = reader.get("/Encounter", {"date": date})
    assert response.status_code == 400
    assert issues(response) == [("value", ["http.date"])]


@pytest.mark.parametrize("date", ["0001", "9999", "ge9999-12-31T23:59:59.999999999-14:00", "lt0001-01-01T00:00+14:00"])
def test_dates_at_the_ends_of_the_calendar_are_searched_not_refused(reader, ed, date):
    assert reader.get("/Encounter", {"date": date}).status_code == 200


def test_every_bad_parameter_is_listed_in_one_operation_outcome(reader, ed):
    query = "status=paused&date=xx2024&_count=-1&colour=blue&patient:missing=true&_count=2"
    response = reader.get(f"/Encounter?{query}")
    assert response.status_code == 400
    assert issues(response) == [
        ("value", ["http.status"]),
        ("value", ["http.date"]),
        ("value", ["http._count"]),
        ("invalid", ["http._count"]),  # given twice
        ("not-supported", ["http.colour"]),
        ("not-supported", ["http.patient:missing"]),
    ]


def test_an_unknown_parameter_is_ignored_when_the_client_asks_for_lenient_handling(reader, ed):
    store("fhir", encounter_record("F1", start=recent(5)))
    strict = reader.get("/Encounter", {"colour": "blue"})
    assert strict.status_code == 400 and issues(strict) == [("not-supported", ["http.colour"])]
    lenient = reader.get("/Encounter", {"colour": "blue", "status": "in-progress"}, HTTP_PREFER="handling=lenient")
    assert lenient.status_code == 200 and lenient.fhir["total"] == 1
    # The self link names the parameters used, and only those.
    assert lenient.fhir["link"][0]["url"] == f"{URL}?status=in-progress&_count=20"
    # Lenient handling ignores what it does not know, not values it cannot read.
    assert reader.get("/Encounter", {"status": "paused"}, HTTP_PREFER="handling=lenient").status_code == 400


def test_paging_follows_next_links_through_every_match_newest_first(reader, ed):
    for day in range(1, 6):
        store("fhir", encounter_record(f"F{day}", start=hour(day, 10), hours=1))
    response = reader.get("/Encounter", {"_count": 2, "status": "finished"})
    seen = []
    pages = 0
    while True:
        pages += 1
        bundle = response.fhir
        assert bundle["total"] == 5
        seen += source_ids(response)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        if "next" not in links:
            break
        split = urlsplit(links["next"])
        assert f"{split.scheme}://{split.netloc}{split.path}" == URL
        response = reader.get("/Encounter", dict(parse_qsl(split.query)))
    assert seen == ["F5", "F4", "F3", "F2", "F1"] and pages == 3
    assert links["self"] == f"{URL}?status=finished&_count=2&_offset=4"
    assert links["previous"] == f"{URL}?status=finished&_count=2&_offset=2"


def test_count_zero_answers_the_total_only_and_large_counts_are_capped(reader, ed):
    store("fhir", *[encounter_record(f"F{i}", start=hour(1, i), hours=0.5) for i in range(3)])
    only_total = reader.get("/Encounter", {"_count": 0})
    assert only_total.fhir["total"] == 3 and "entry" not in only_total.fhir
    capped = reader.get("/Encounter", {"_count": 100000})
    assert capped.fhir["link"][0]["url"] == f"{URL}?_count=100"
    beyond = reader.get("/Encounter", {"_offset": 10**30})
    assert beyond.status_code == 200 and "entry" not in beyond.fhir


def test_format_json_is_accepted_and_others_refused(reader, ed):
    assert reader.get("/Encounter", {"_format": "application/fhir+json"}).status_code == 200
    assert reader.get("/Encounter", {"_format": "xml"}).status_code == 400


def test_without_a_token_a_search_is_a_401_operation_outcome(fhir, ed):
    response = fhir.get("/Encounter")
    assert response.status_code == 401
    assert issues(response) == [("login", [])]


def test_parameter_names_and_values_with_control_characters_are_named_not_fatal(reader, ed):
    response = reader.get("/Encounter?col%0Bour=1&status=%0B")
    assert response.status_code == 400
    assert [code for code, _ in issues(response)] == ["not-supported", "value"]
