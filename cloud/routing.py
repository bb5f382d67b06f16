from django.urls import path

from cloud.consumers import HealthConsumer

websocket_urlpatterns = [
    path("ws/healthz", HealthConsumer.as_asgi()),
]
