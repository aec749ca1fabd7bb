from django.urls import re_path
from rest_framework.routers import SimpleRouter

from optimization.api import rosters, staff, views

app_name = "optimization-api"

run_detail = views.OptimizationRunViewSet.as_view({"get": "retrieve"})
run_list = views.OptimizationRunViewSet.as_view({"get": "list"})
run_put_in_force = views.OptimizationRunViewSet.as_view({"post": "put_in_force"})

router = SimpleRouter()
router.trailing_slash = "/?"  # with or without the slash (POST cannot follow a redirect)
router.register("optimize/duty-changes", views.DutyChangeViewSet, basename="duty-change")
router.register("staff/nurses", staff.NurseViewSet, basename="nurse")
router.register("staff/leave", staff.LeaveViewSet, basename="leave")
router.register("staff/shift-requests", staff.ShiftRequestViewSet, basename="shift-request")
router.register("staff/contracts", staff.ContractViewSet, basename="contract")
router.register("staff/skills", staff.SkillViewSet, basename="skill")
router.register("rosters", rosters.NamedRosterViewSet, basename="named-roster")
router.register("call-in-offers", rosters.CallInOfferViewSet, basename="call-in-offer")

urlpatterns = [
    re_path(r"^optimize/workload/?$", views.OptimizationRequestView.as_view(), name="optimization-request"),
    re_path(r"^optimize/status/(?P<pk>[0-9a-f-]{36})/?$", run_detail, name="optimization-status"),
    re_path(
        r"^optimize/status/(?P<pk>[0-9a-f-]{36})/put-in-force/?$", run_put_in_force, name="optimization-put-in-force"
    ),
    re_path(r"^optimize/history/?$", run_list, name="optimization-history"),
    re_path(r"^optimize/recommend/?$", views.RecommendView.as_view(), name="optimization-recommend"),
    re_path(r"^optimize/call-in-candidates/?$", rosters.CallInCandidatesView.as_view(), name="call-in-candidates"),
    *router.urls,
]
