from django.urls import path

from dashboard.consumers import DepartmentConsumer

websocket_urlpatterns = [
    path("ws/departments/<str:code>/", DepartmentConsumer.as_asgi()),
]
