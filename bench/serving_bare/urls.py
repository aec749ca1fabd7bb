"""Over the same 100k rows: two lists (50 rows alone, a page of 50 with its count) and one write."""

from django.urls import path
from django.utils import timezone
from rest_framework import generics, pagination, serializers

from bench.serving_bare.models import Encounter


class EncounterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Encounter
        fields = [
            "id",
            "source",
            "source_id",
            "department_id",
            "encounter_class",
            "status",
            "start",
            "end",
            "created_at",
            "updated_at",
        ]


class EncounterWriteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Encounter
        fields = ["id", "source", "source_id", "department_id", "encounter_class", "status", "start"]


class Fifty(pagination.PageNumberPagination):
    page_size = 50


class EncounterRows(generics.ListAPIView):
    """The last 50 encounters stored (primary-key order), no count: "a list of 50 rows" at its simplest."""

    serializer_class = EncounterSerializer
    pagination_class = None

    def get_queryset(self):
        return Encounter.objects.order_by("-id")[:50]


class EncounterPage(generics.ListAPIView):
    """The first page of 50 with the total count, as the product's page-number pagination answers."""

    serializer_class = EncounterSerializer
    pagination_class = Fifty
    queryset = Encounter.objects.order_by("-id")


class EncounterWrite(generics.CreateAPIView):
    """One new encounter from a JSON body: validation, one INSERT and its commit, the row in the answer.

    "A write" at its simplest, to measure the product's writes against (no transaction around it,
    no uniqueness check before the INSERT: the table's constraint is the check).
    """

    serializer_class = EncounterWriteSerializer

    def perform_create(self, serializer):
        now = timezone.now()
        serializer.save(patient_key="bare", created_at=now, updated_at=now)


urlpatterns = [
    path("rows", EncounterRows.as_view()),
    path("page", EncounterPage.as_view()),
    path("write", EncounterWrite.as_view()),
]
