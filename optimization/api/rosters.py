"""Rosters of named nurses (requested, polled, put in force, repaired after a sick call), the nurses
ranked for a call-in, and the call-ins offered to them (answered by the nurse herself)."""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from django.utils.decorators import method_decorator
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from healthcare.accounts.ratelimits import job_limited
from healthcare.encounters.api.filters import FilterSet
from healthcare.encounters.api.permissions import ModelPermissions
from healthcare.encounters.selectors import departments_visible_to
from optimization.api.serializers import DepartmentCodeField
from optimization.api.views import ChangeWithPostPermission, visible_department_or_404
from optimization.call_in_candidates import call_in_candidates
from optimization.models import ROSTER_DAYS, CallInOffer, NamedRoster, Nurse, OfferStatus, RosterShift, RunStatus
from optimization.models.rosters import ROSTER_SECONDS_MAX
from optimization.services.call_ins import call_in_hours, call_in_offer, call_in_offer_answer, call_in_offer_withdraw
from optimization.services.rosters import named_roster_put_in_force, named_roster_request, sick_call_record


def _django_errors(exc: DjangoValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class RosterShiftSerializer(serializers.ModelSerializer):
    nurse = serializers.SlugRelatedField(slug_field="employee_number", read_only=True)
    display_name = serializers.CharField(source="nurse.display_name", read_only=True)

    class Meta:
        model = RosterShift
        fields = ["nurse", "display_name", "day", "shift", "starts_at", "ends_at"]
        read_only_fields = fields


class NamedRosterSerializer(serializers.ModelSerializer):
    """A roster job and its figures; its shifts when read one by one."""

    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    put_in_force_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    gap = serializers.FloatField(read_only=True, allow_null=True, help_text="(objective - bound) / objective.")

    class Meta:
        model = NamedRoster
        fields = [
            "id",
            "department",
            "first_day",
            "days",
            "seconds",
            "seed",
            "status",
            "progress",
            "failure_reason",
            "solver_status",
            "objective",
            "bound",
            "gap",
            "penalty",
            "changes",
            "cover_source",
            "repair_of",
            "note",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "in_force_from",
            "put_in_force_at",
            "put_in_force_by",
        ]
        read_only_fields = fields


class NamedRosterDetailSerializer(NamedRosterSerializer):
    shifts = RosterShiftSerializer(many=True, read_only=True)

    class Meta(NamedRosterSerializer.Meta):
        fields = [*NamedRosterSerializer.Meta.fields, "shifts"]
        read_only_fields = fields


class NamedRosterRequestSerializer(serializers.Serializer):
    department = DepartmentCodeField()
    first_day = serializers.DateField()
    days = serializers.IntegerField(min_value=ROSTER_DAYS[0], max_value=ROSTER_DAYS[1], default=28)
    seconds = serializers.IntegerField(
        min_value=1, max_value=ROSTER_SECONDS_MAX, default=20, help_text="CP-SAT's deterministic seconds."
    )
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)


class SickCallSerializer(serializers.Serializer):
    nurse = serializers.CharField(max_length=32, help_text="Employee number.")
    first_day = serializers.DateField()
    last_day = serializers.DateField()
    seconds = serializers.IntegerField(min_value=1, max_value=ROSTER_SECONDS_MAX, default=5)


class NamedRosterFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    status = django_filters.ChoiceFilter(choices=RunStatus.choices)

    class Meta:
        model = NamedRoster
        fields = ["department", "status"]


class NamedRosterViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Rosters of named nurses of your departments. POST queues a solve (202); poll it until it
    succeeds or fails, then put it in force."""

    permission_classes = [ModelPermissions]
    filterset_class = NamedRosterFilterSet
    queryset = NamedRoster.objects.none()
    error_statuses = {"POST": [400]}

    def get_queryset(self):
        rosters = NamedRoster.objects.filter(department__in=departments_visible_to(self.request.user)).select_related(
            "department", "requested_by", "put_in_force_by"
        )
        if self.action == "retrieve":
            rosters = rosters.prefetch_related("shifts__nurse")
        return rosters

    def get_serializer_class(self):
        if self.action == "create":
            return NamedRosterRequestSerializer
        return NamedRosterDetailSerializer if self.action == "retrieve" else NamedRosterSerializer

    @extend_schema(request=NamedRosterRequestSerializer, responses={202: NamedRosterSerializer})
    @method_decorator(job_limited)
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        department = visible_department_or_404(request, data.pop("department"))
        try:
            roster = named_roster_request(department=department, requested_by=request.user, **data)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        roster.refresh_from_db()  # eager Celery (embedded default) may have finished it already
        return Response(NamedRosterSerializer(roster).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: NamedRosterSerializer})
    @action(detail=True, methods=["post"], url_path="put-in-force", permission_classes=[ChangeWithPostPermission])
    def put_in_force(self, request, pk=None):
        """Make this roster the one in force (from the next shift start when one is in force now); audited."""
        try:
            roster = named_roster_put_in_force(roster=self.get_object(), by=request.user)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        return Response(NamedRosterSerializer(roster).data)

    @extend_schema(request=SickCallSerializer, responses={202: NamedRosterSerializer})
    @action(detail=False, methods=["post"], url_path="sick-calls", serializer_class=SickCallSerializer)
    def sick_call(self, request):
        """A nurse of yours calls in sick: her leave is recorded and a repair of the roster in force is
        queued (202), changing as few shifts as it pays; put the repair in force when it succeeds."""
        serializer = SickCallSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        nurse = Nurse.objects.filter(
            employee_number=data.pop("nurse"), home_department__in=departments_visible_to(request.user)
        ).first()
        if nurse is None:
            raise ValidationError({"nurse": ["no nurse with this employee number in your departments"]})
        try:
            repair = sick_call_record(nurse=nurse, by=request.user, **data)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        repair.refresh_from_db()
        return Response(NamedRosterSerializer(repair).data, status=status.HTTP_202_ACCEPTED)


class CandidateSerializer(serializers.Serializer):
    nurse = serializers.CharField(help_text="Employee number.")
    display_name = serializers.CharField()
    legal = serializers.BooleanField()
    reasons = serializers.ListField(child=serializers.CharField())
    pay = serializers.CharField(help_text="on-call or overtime")
    cost = serializers.FloatField(help_text="In rostered nurse-hours times the hour cost.")
    has_skill = serializers.BooleanField()
    recent_call_ins = serializers.IntegerField()
    floats_from = serializers.CharField(allow_blank=True)


class CallInChoiceSerializer(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    need_skill = serializers.CharField(allow_null=True)
    agency_cost = serializers.FloatField()
    candidates = CandidateSerializer(many=True)


class CallInCandidatesView(generics.GenericAPIView):
    """Every nurse of a department (and those who float to it) ranked for a call-in: legal first, then
    those with the skill the hours lack, then the cheapest, then the fewest call-ins in four weeks."""

    queryset = CallInOffer.objects.none()
    permission_classes = [ModelPermissions]
    serializer_class = CallInChoiceSerializer

    error_statuses = {"GET": [400]}  # a start out of reach

    @extend_schema(
        parameters=[
            OpenApiParameter("department", str, required=True, description="Department code."),
            OpenApiParameter("starts_at", str, description="ISO 8601; default: after the on-call lead time."),
            OpenApiParameter("hours", int, description="1-24; default: the on-call block."),
        ],
        responses={200: CallInChoiceSerializer},
    )
    def get(self, request):
        query = _CandidatesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        department = visible_department_or_404(request, query.validated_data["department"])
        now = timezone.now()
        try:
            starts_at, ends_at = call_in_hours(
                department,
                now=now,
                starts_at=query.validated_data.get("starts_at"),
                hours=query.validated_data.get("hours"),
            )
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        choice = call_in_candidates(department, starts_at=starts_at, ends_at=ends_at, now=now)
        numbers = dict(
            Nurse.objects.filter(id__in=[c.facts.nurse_id for c in choice.ranked]).values_list("id", "employee_number")
        )
        body = {
            "starts_at": starts_at,
            "ends_at": ends_at,
            "need_skill": choice.need_skill,
            "agency_cost": choice.agency_cost,
            "candidates": [
                {
                    "nurse": numbers[candidate.facts.nurse_id],
                    "display_name": candidate.facts.name,
                    "legal": candidate.legal,
                    "reasons": list(candidate.reasons),
                    "pay": candidate.pay,
                    "cost": candidate.cost,
                    "has_skill": candidate.has_skill,
                    "recent_call_ins": candidate.facts.recent_call_ins,
                    "floats_from": candidate.facts.floats_from,
                }
                for candidate in choice.ranked
            ],
        }
        return Response(CallInChoiceSerializer(body).data)


class _CandidatesQuery(serializers.Serializer):
    department = DepartmentCodeField()
    starts_at = serializers.DateTimeField(required=False)
    hours = serializers.IntegerField(min_value=1, max_value=24, required=False)


class CallInOfferSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    nurse = serializers.SlugRelatedField(slug_field="employee_number", read_only=True)
    display_name = serializers.CharField(source="nurse.display_name", read_only=True)
    offered_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = CallInOffer
        fields = [
            "id",
            "department",
            "nurse",
            "display_name",
            "starts_at",
            "ends_at",
            "status",
            "pay",
            "cost",
            "recent_call_ins",
            "offered_by",
            "offered_at",
            "answered_at",
            "duty_change",
        ]
        read_only_fields = fields


class CallInOfferCreateSerializer(serializers.Serializer):
    department = DepartmentCodeField()
    nurse = serializers.CharField(max_length=32, help_text="Employee number.")
    starts_at = serializers.DateTimeField(required=False, help_text="Default: after the on-call lead time.")
    hours = serializers.IntegerField(min_value=1, max_value=24, required=False, help_text="Default: the on-call block.")


class CallInOfferFilterSet(FilterSet):
    department = django_filters.CharFilter(field_name="department__code", help_text="Department code.")
    status = django_filters.ChoiceFilter(choices=OfferStatus.choices)

    class Meta:
        model = CallInOffer
        fields = ["department", "status"]


class CallInOfferViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Call-ins offered to named nurses of your departments (a nurse sees her own). A charge nurse
    offers and withdraws; the nurse accepts or declines, which records the call-in."""

    permission_classes = [ModelPermissions]
    filterset_class = CallInOfferFilterSet
    queryset = CallInOffer.objects.none()
    error_statuses = {"POST": [400]}

    def get_permissions(self):
        # The nurse answers her own offers whatever her role; the rows are scoped to her below.
        if self.action in ("accept", "decline"):
            return [IsAuthenticated()]
        return super().get_permissions()

    def get_queryset(self):
        user = self.request.user
        offers = CallInOffer.objects.select_related("department", "nurse", "offered_by")
        if self.action in ("accept", "decline"):
            return offers.filter(nurse__user=user)
        return offers.filter(department__in=departments_visible_to(user))

    def get_serializer_class(self):
        return CallInOfferCreateSerializer if self.action == "create" else CallInOfferSerializer

    @extend_schema(request=CallInOfferCreateSerializer, responses={201: CallInOfferSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        department = visible_department_or_404(request, data.pop("department"))
        nurse = Nurse.objects.filter(employee_number=data.pop("nurse")).first()
        if nurse is None:
            raise ValidationError({"nurse": ["no nurse with this employee number"]})
        try:
            offer = call_in_offer(department=department, nurse=nurse, by=request.user, **data)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        return Response(CallInOfferSerializer(offer).data, status=status.HTTP_201_CREATED)

    def _answer(self, request, accept: bool):
        try:
            offer = call_in_offer_answer(offer=self.get_object(), accept=accept, by=request.user)
        except DjangoValidationError as exc:
            raise _django_errors(exc) from None
        return Response(CallInOfferSerializer(offer).data)

    @extend_schema(request=None, responses={200: CallInOfferSerializer})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        """The nurse accepts her offer: the call-in is recorded and her department's pages follow live."""
        return self._answer(request, accept=True)

    @extend_schema(request=None, responses={200: CallInOfferSerializer})
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """The nurse declines her offer."""
        return self._answer(request, accept=False)

    @extend_schema(request=None, responses={200: CallInOfferSerializer})
    @action(detail=True, methods=["post"], permission_classes=[ChangeWithPostPermission])
    def withdraw(self, request, pk=None):
        """Take back an offer not yet answered."""
        offer = call_in_offer_withdraw(offer=self.get_object(), by=request.user)
        return Response(CallInOfferSerializer(offer).data)
