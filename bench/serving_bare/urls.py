"""Two list endpoints over the same 100k rows: 50 rows alone, and a page of 50 with its count."""

from django.urls import path
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


urlpatterns = [
    path("rows", EncounterRows.as_view()),
    path("page", EncounterPage.as_view()),
]
