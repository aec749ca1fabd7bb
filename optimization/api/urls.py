from django.urls import re_path

from optimization.api import views

app_name = "optimization-api"

run_detail = views.OptimizationRunViewSet.as_view({"get": "retrieve"})
run_list = views.OptimizationRunViewSet.as_view({"get": "list"})

urlpatterns = [
    re_path(r"^optimize/workload/?$", views.OptimizationRequestView.as_view(), name="optimization-request"),
    re_path(r"^optimize/status/(?P<pk>[0-9a-f-]{36})/?$", run_detail, name="optimization-status"),
    re_path(r"^optimize/history/?$", run_list, name="optimization-history"),
    re_path(r"^optimize/recommend/?$", views.RecommendView.as_view(), name="optimization-recommend"),
]
