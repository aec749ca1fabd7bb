"""HL7 v2 ADT messages applied to the stays: public sample messages and the plain cases of each event."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from healthcare.encounters.ingest.hl7 import Hl7Refusal, Hl7Reject, ack, normalise, parse_adt
from healthcare.encounters.ingest.mapping import ClassMapping, MappingError, load_mapping
from healthcare.encounters.models import Encounter, HeldAdtEvent, Hl7Message, WorkloadHour
from healthcare.encounters.services.adt import adt_apply
from tests.factories import department_make

SAMPLES = Path(__file__).parent / "hl7_samples"
MAPPING = ClassMapping.from_dict(
    {"hl7": {"points_of_care": {"ZFAST TRACK": "ED", "CLINIC": None}, "patient_classes": {"E": "ED"}}}
)


def sample(name: str):
    return parse_adt(normalise((SAMPLES / name).read_bytes()))[0]


def message(trigger: str, control: str, *, visit="V1", point="ED", patient_class="E", patient="MRN1", **times):
    """An ADT message as a feed sends it; times as HL7 timestamps: evn, admit (PV1-44), discharge (PV1-45)."""
    pv1 = ["PV1", "1", patient_class, f"{point}^01^A"] + [""] * 15 + [visit] + [""] * 25
    pv1[44] = times.get("admit", "")
    pv1.append(times.get("discharge", ""))
    sent = times.get("evn", "202612071200")
    segments = [
        f"MSH|^~\\&|EPIC|HOSP|WORKLOAD|HOSP|{sent}||ADT^{trigger}^ADT_A01|{control}|P|2.5.1",
        f"EVN|{trigger}|{sent}",
        f"PID|1||{patient}^^^HOSP^MR~999^^^SSA^SS||DOE^JANE",
        "|".join(pv1),
    ]
    return parse_adt("\r".join(segments))[0]


def apply(adt, now=None, mapping=MAPPING):
    return adt_apply(message=adt, source="hl7", mapping=mapping, now=now or datetime(2026, 12, 7, 20, tzinfo=UTC))


def stays():
    return list(Encounter.objects.filter(source="hl7").order_by("start", "id").values_list("source_id", "status"))


@pytest.fixture
def wards(db):
    zone = "America/Chicago"
    return (
        department_make(code="ED", unit_type="ed", timezone=zone),
        department_make(code="ICU", unit_type="icu", timezone=zone),
    )


class TestPublicSamples:
    def test_every_sample_is_read_with_its_visit_point_of_care_and_times(self):
        a01 = sample("v25_adt_a01_standard.hl7")
        assert (a01.trigger, a01.version, a01.patient_id, a01.visit) == ("A01", "2.5", "56782445", "0105I30001")
        assert a01.point_of_care == "W" and a01.admit_at == datetime(2006, 5, 29, 9, 0)
        assert sample("v231_adt_a01_standard.hl7").patient_id == "PATID1234"  # the MR repetition of PID-3
        itk = sample("v24_adt_a03_nhs_itk.hl7")  # LF separators, as published
        assert (itk.visit, itk.admit_at, itk.discharge_at) == (
            "11554",
            datetime(2010, 3, 30, 11, 0),
            datetime(2010, 3, 31, 17, 15),
        )
        assert sample("v24_adt_a01_nhs_itk.hl7").visit == "2139"  # Z-segments after PV1 are ignored
        merge = sample("v25_adt_a40_standard.hl7")
        assert [(m.patient_id, m.prior_patient_id) for m in merge.merges] == [("MR1", "MR2")]
        nist = sample("v251_adt_a03_nist_syndromic.hl7")
        assert (nist.version, nist.visit, nist.admit_at) == ("2.5.1", "33333_001", datetime(2012, 4, 1, 21, 30))

    def test_escape_sequences_are_read_as_the_characters_they_stand_for(self):
        _, parsed = parse_adt(normalise((SAMPLES / "v25_adt_a01_standard.hl7").read_bytes()))
        assert parsed.unescape(str(parsed["PID.F11.R2.C1"])) == "NICKELL\u2019S PICKLES & DILL"

    def test_the_standard_admission_opens_a_stay_in_the_mapped_ward(self, wards):
        mapping = ClassMapping.from_dict({"hl7": {"points_of_care": {"W": "ICU"}}})
        outcome = apply(sample("v25_adt_a01_standard.hl7"), now=datetime(2006, 5, 29, 15, tzinfo=UTC), mapping=mapping)
        assert (outcome.code, outcome.note) == ("AA", "admitted")
        stay = Encounter.objects.get(source="hl7")
        assert (stay.source_id, stay.department.code, stay.end) == ("0105I30001", "ICU", None)
        assert stay.start == datetime(2006, 5, 29, 9, 0, tzinfo=UTC) + timedelta(hours=5)  # Chicago, CDT
        assert stay.patient_key != "56782445"

    def test_a_discharge_of_an_unknown_visit_with_its_admission_time_is_reconciled(self, wards):
        mapping = ClassMapping.from_dict({"hl7": {"default_department": "ED"}})
        outcome = apply(sample("v251_adt_a03_nist_syndromic.hl7"), mapping=mapping)
        assert (outcome.code, outcome.note) == ("AA", "reconciled")
        stay = Encounter.objects.get(source="hl7")
        assert (stay.status, stay.end - stay.start) == ("finished", timedelta(hours=3))

    def test_a_registration_without_a_visit_number_is_refused_naming_pv1_19(self, wards):
        mapping = ClassMapping.from_dict({"hl7": {"patient_classes": {"O": "ED"}}})
        outcome = apply(sample("v25_adt_a04_vinah.hl7"), mapping=mapping)
        assert (outcome.code, outcome.problem.segment, outcome.problem.field) == ("AE", "PV1", 19)
        assert Hl7Message.objects.get().outcome == "AE"

    def test_the_standard_merge_moves_the_prior_patients_stays(self, wards):
        apply(message("A01", "C1", patient="MR2", admit="202612071000"))
        outcome = apply(sample("v25_adt_a40_standard.hl7"))
        assert (outcome.code, outcome.note) == ("AA", "merged 1 stays")
        merged = apply(message("A03", "C2", patient="MR1", discharge="202612071100"))
        assert merged.code == "AA"
        assert len({stay.patient_key for stay in Encounter.objects.all()}) == 1


class TestEvents:
    def test_admit_then_discharge_moves_the_census_and_logs_both(self, wards):
        assert apply(message("A01", "C1", admit="202612071000")).note == "admitted"
        assert WorkloadHour.objects.filter(department=wards[0], census=1).exists()
        assert apply(message("A03", "C2", discharge="202612071130")).note == "discharged"
        assert stays() == [("V1", "finished")]
        assert list(Hl7Message.objects.order_by("received_at").values_list("control_id", "outcome", "note")) == [
            ("C1", "AA", "admitted"),
            ("C2", "AA", "discharged"),
        ]

    def test_a_resent_control_id_is_a_no_op(self, wards):
        apply(message("A01", "C1", admit="202612071000"))
        assert apply(message("A01", "C1", admit="202612070900")).note == "duplicate"
        assert Encounter.objects.get().start.hour == 16  # 10:00 Chicago, not the resend's 09:00
        assert Hl7Message.objects.count() == 1

    def test_a_point_of_care_named_by_the_mapping_or_by_a_department_code_is_found(self, wards):
        assert apply(message("A04", "C1", point="ZFAST TRACK", visit="V1")).note == "admitted"
        assert apply(message("A01", "C2", point="icu", visit="V2", patient_class="I")).note == "admitted"
        assert sorted(Encounter.objects.values_list("department__code", flat=True)) == ["ED", "ICU"]

    def test_an_unknown_point_of_care_is_refused_naming_pv1_3_and_nothing_is_stored(self, wards):
        outcome = apply(message("A01", "C1", point="NOWHERE"))
        assert (outcome.code, str(outcome.problem)) == ("AE", "PV1-3: point of care 'NOWHERE' maps to no department")
        assert stays() == []
        parsed = parse_adt("MSH|^~\\&|A|B|C|D|2026||ADT^A01|C1|P|2.5\rPID|1\rPV1|1")[1]
        reply = ack(parsed, "AE", problem=outcome.problem)
        assert "MSA|AE|C1|" in reply and "|PV1^1^3|103^Table value not found^HL70357|E|" in reply

    def test_a_point_of_care_the_mapping_leaves_out_is_acknowledged_and_changes_nothing(self, wards):
        outcome = apply(message("A01", "C1", point="CLINIC"))
        assert (outcome.code, outcome.note) == ("AA", "out of scope")
        assert stays() == []

    def test_the_patient_class_decides_only_when_the_point_of_care_is_empty(self, wards):
        assert apply(message("A04", "C1", point="", patient_class="E")).note == "admitted"
        refused = apply(message("A04", "C2", point="", patient_class="Q", visit="V2"))
        assert (refused.code, refused.problem.field) == ("AE", 3)

    def test_a_transfer_closes_the_stay_and_opens_one_in_the_new_ward(self, wards):
        apply(message("A01", "C1", admit="202612071000"))
        assert apply(message("A02", "C2", point="ICU", evn="202612071100")).note == "transferred"
        assert stays() == [("V1", "finished"), ("V1/C2", "in-progress")]
        assert apply(message("A12", "C3", point="ED")).note == "transfer cancelled"
        assert stays() == [("V1", "in-progress"), ("V1/C2", "cancelled")]

    def test_a_cancelled_admission_stops_counting(self, wards):
        apply(message("A01", "C1", admit="202612071000"))
        assert apply(message("A11", "C2")).note == "admission cancelled"
        assert stays() == [("V1", "cancelled")]
        assert not WorkloadHour.objects.filter(census__gt=0).exists()

    def test_a_cancelled_discharge_reopens_the_stay(self, wards):
        apply(message("A01", "C1", admit="202612071000"))
        apply(message("A03", "C2", discharge="202612071100"))
        assert apply(message("A13", "C3")).note == "discharge cancelled"
        assert stays() == [("V1", "in-progress")]

    def test_an_update_moves_the_open_stay_and_corrects_its_admission(self, wards):
        apply(message("A01", "C1", admit="202612071000"))
        assert apply(message("A08", "C2", point="ICU", admit="202612070930")).note == "updated"
        stay = Encounter.objects.get()
        assert (stay.department.code, stay.start.minute) == ("ICU", 30)

    def test_a_discharge_before_its_admission_is_held_then_applied_with_it(self, wards):
        early = apply(message("A03", "C2", evn="202612071130"))
        assert (early.code, early.note) == ("AA", "held")
        assert stays() == [] and HeldAdtEvent.objects.count() == 1
        assert apply(message("A01", "C1", admit="202612071000")).note == "admitted, held discharge applied"
        assert stays() == [("V1", "finished")] and HeldAdtEvent.objects.count() == 0

    def test_a_second_discharge_is_refused_naming_pv1_19(self, wards):
        apply(message("A01", "C1", admit="202612071000"))
        apply(message("A03", "C2", discharge="202612071100"))
        refused = apply(message("A03", "C3", discharge="202612071200"))
        assert (refused.code, str(refused.problem)) == ("AE", "PV1-19: the visit has no open stay to discharge")

    def test_a_discharge_before_the_admission_time_is_refused(self, wards):
        apply(message("A01", "C1", admit="202612071000"))
        refused = apply(message("A03", "C2", discharge="202612070900"))
        assert (refused.code, refused.problem.field) == ("AE", 45)
        assert stays() == [("V1", "in-progress")]

    def test_a_time_with_an_offset_is_kept_and_one_without_is_read_in_the_ward_zone(self, wards):
        apply(message("A01", "C1", admit="202612071000+0000", visit="V1"))
        apply(message("A01", "C2", admit="202612071000", visit="V2"))
        starts = dict(Encounter.objects.values_list("source_id", "start"))
        assert starts["V2"] - starts["V1"] == timedelta(hours=6)  # America/Chicago in December

    def test_events_the_census_does_not_read_are_acknowledged_and_ignored(self, wards):
        assert apply(message("A31", "C1")).note == "ignored"


class TestUnreadable:
    @pytest.mark.parametrize(
        ("text", "where"),
        [
            ("", "MSH"),
            ("PID|1||X", "MSH"),
            ("MSH|^~\\&|A|B", "MSH-12"),  # truncated
            ("MSH|^^^^|A|B|C|D|1||ADT^A01|C1|P|2.5", "MSH-2"),  # wrong encoding characters
            ("MSH|^~\\&|A|B|C|D|1||ORU^R01|C1|P|2.5", "MSH-9"),
            ("MSH|^~\\&|A|B|C|D|1||ADT^A01||P|2.5", "MSH-10"),
            ("MSH|^~\\&|A|B|C|D|1||ADT^A01|C1|P|2.5\rPID|1", "PV1"),  # cut before PV1
        ],
    )
    def test_a_message_that_cannot_be_read_is_rejected_naming_where(self, text, where):
        with pytest.raises(Hl7Reject) as raised:
            parse_adt(text)
        assert type(raised.value) is Hl7Reject and str(raised.value).startswith(where)
        assert "MSA|AR" in ack(raised.value.message, "AR", problem=raised.value.problem)

    def test_a_bad_timestamp_is_an_error_naming_its_field(self):
        with pytest.raises(Hl7Refusal) as raised:
            message("A01", "C1", admit="2026-12-07")
        assert (raised.value.code, raised.value.problem.segment, raised.value.problem.field) == ("AE", "PV1", 44)


class TestMapping:
    def test_the_hl7_key_of_a_mapping_file_is_read(self, tmp_path):
        path = tmp_path / "mapping.json"
        path.write_text('{"hl7": {"points_of_care": {"ZFAST TRACK": "ed"}, "patient_classes": {"E": "ED"}}}')
        mapping = load_mapping(path)
        assert mapping.hl7.points_of_care == {"zfast track": "ED"}

    def test_a_malformed_hl7_key_names_it(self):
        with pytest.raises(MappingError, match="hl7.points_of_care"):
            ClassMapping.from_dict({"hl7": {"points_of_care": {"X": 3}}})


def test_refusals_are_counted_in_the_metrics_by_the_field_they_name(wards):
    from django.utils import timezone

    from monitoring_app.metrics import hl7_figures

    apply(message("A01", "C1", point="NOWHERE"))
    apply(message("A01", "C2", point="ED", visit="V2"))
    apply(message("A03", "C3", visit="V3", point="ED"))  # held: no admission yet, no PV1-44
    figures = hl7_figures(timezone.now())
    assert figures["hl7_messages_24h"] == [
        {"outcome": "AA", "field": "", "count": 2},
        {"outcome": "AE", "field": "PV1-3", "count": 1},
    ]
    assert figures["hl7_held_discharges"] == 1


def test_an_acknowledgement_uses_the_messages_own_delimiters(wards):
    text = "MSH|$~\\&|EPIC|HOSP|W|H|20261207120000||ADT$A01|C1|P|2.5\rPID|1||MRN1\rPV1|1|E|NOWHERE$1||||||||||||||||V1"
    adt, parsed = parse_adt(text)
    assert (adt.trigger, adt.point_of_care) == ("A01", "NOWHERE")
    outcome = apply(adt)
    reply = ack(parsed, outcome.code, problem=outcome.problem)
    assert "|PV1$1$3|103$Table value not found$HL70357|E|" in reply
    assert "ERR|PV1$1$3$103&Table value not found&HL70357|" in reply
