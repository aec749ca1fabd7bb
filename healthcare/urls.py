from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from mozilla_django_oidc.views import OIDCLogoutView

from healthcare.accounts.api.views import LogoutView, TokenObtainView, TokenRefreshRotatingView
from healthcare.accounts.ratelimits import sign_in_limited
from healthcare.api import ApiRootView
from monitoring_app.api.metrics import metrics_view

urlpatterns = [
    path("", include("dashboard.urls")),
    path("accounts/login/", sign_in_limited(auth_views.LoginView.as_view()), name="login"),
    # Signing out of a single sign-on session also ends it at the provider (healthcare/accounts/oidc.py).
    path("accounts/logout/", OIDCLogoutView.as_view(), name="logout"),
    # Single sign-on: the start at the provider, its callback, and its logout.
    path("oidc/", include("mozilla_django_oidc.urls")),
    # The admin's own sign-in form is limited like every other one; its sign-out is the one above.
    path("admin/login/", sign_in_limited(admin.site.login)),
    path("admin/logout/", OIDCLogoutView.as_view()),
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="prometheus-metrics"),
    path("api/v1/auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("api/v1/auth/token/refresh/", TokenRefreshRotatingView.as_view(), name="token-refresh"),
    path("api/v1/auth/logout/", LogoutView.as_view(), name="logout-api"),
    re_path(r"^api/v1/?$", ApiRootView.as_view(), name="api-root"),
    path("api/v1/", include("healthcare.encounters.api.urls")),
    path("api/v1/", include("predictions.api.urls")),
    path("api/v1/", include("optimization.api.urls")),
    path("api/v1/", include("monitoring_app.api.urls")),
    path("api/v1/", include("dashboard.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # The browsable API's own sign-in form is left out: /accounts/login/?next=/api/v1/ is the one (rate-limited).
]
