from django.urls import path

from cloud.consumers import HealthConsumer
from console.consumers import HistoryConsumer, StatusesConsumer

websocket_urlpatterns = [
    path("ws/healthz", HealthConsumer.as_asgi()),
    # the run and the list are named by query parameters: workflow ids may hold "/"
    path("ws/console/history", HistoryConsumer.as_asgi()),
    path("ws/console/statuses", StatusesConsumer.as_asgi()),
]
