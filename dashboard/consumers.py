"""Websocket consumer: one department's live events for a signed-in user who may see it."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dashboard.broadcast import department_group
from dashboard.selectors import department_snapshot
from healthcare.encounters.models import Department
from healthcare.encounters.selectors import departments_visible_to
from monitoring_app.metrics import WEBSOCKETS_OPEN

# Application close codes (4000-4999): the page tells "sign in" from "not yours".
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _may_see(user, code: str) -> bool:
    return departments_visible_to(user).filter(code=code).exists()


@database_sync_to_async
def _snapshot(code: str) -> dict:
    return department_snapshot(Department.objects.get(code=code))


class DepartmentConsumer(AsyncJsonWebsocketConsumer):
    """ws/departments/<code>/: joins the department's group and relays its events."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.group = None
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        code = self.scope["url_route"]["kwargs"]["code"]
        if not await _may_see(user, code):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = department_group(code)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        WEBSOCKETS_OPEN.inc()
        # The state now, then every change after it (the page compares sequence numbers).
        await self.send_json({"event": "snapshot", "department": code, **await _snapshot(code)})

    async def disconnect(self, close_code: int) -> None:
        if self.group:
            WEBSOCKETS_OPEN.dec()
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # The feed is one-way; clients send nothing that changes state.
        return

    async def department_event(self, message: dict) -> None:
        await self.send_json(
            {
                "event": message["event"],
                "department": message["department"],
                "payload": message["payload"],
                "seq": message["seq"],
                "request_id": message.get("request_id"),
            }
        )
