"""The schedules of a namespace (list, detail, create, edit, pause, resume, trigger, backfill,
delete) and the task-queue page.

Reading needs Read on the namespace, every change Write (``console.access.resolve``: another
tenant's namespace is a 404, a reader's POST a 403). A change is audited under Temporal's RPC
name with the target ``<namespace id>/<schedule id>``; what the engine refuses is recorded as an
ERROR entry and shown in the engine's words with its status. A change that succeeds redirects
with a message (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import grpc
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.errors import ServiceError
from accounts.models import NamespacePermission
from accounts.permissions import has_namespace_permission
from accounts.principal import Principal
from accounts.views.common import render_page
from audit.services import audited
from console import schedules
from console.access import resolve
from console.engine import ConsoleEngineError
from console.errors_page import engine_error_page
from console.schedule_forms import BackfillForm, NoteForm, ScheduleForm, initial_of
from console.task_queues import POLLER_WINDOW_MINUTES, describe_task_queue
from namespaces.models import Namespace
from namespaces.views import namespace_header_context


class ScheduleRefused(ServiceError):
    """The engine refused a schedule change (the audit entry's ERROR); keeps the engine's error."""

    def __init__(self, error: ConsoleEngineError) -> None:
        super().__init__(error.message)
        self.error = error
        self.http_status = 409 if error.code == grpc.StatusCode.ALREADY_EXISTS else error.http_status


def _change(
    principal: Principal,
    namespace: Namespace,
    operation: str,
    schedule_id: str,
    action: Callable[[], None],
    details: Mapping[str, Any] | None = None,
) -> None:
    """Run one engine write inside its audit entry; raises ``ScheduleRefused``."""
    target = f"{namespace.namespace_id}/{schedule_id}"
    with audited(principal, operation, target_type="schedule", target_id=target, details=details):
        try:
            action()
        except ConsoleEngineError as exc:
            raise ScheduleRefused(exc) from None


def _can_write(principal: Principal, namespace: Namespace) -> bool:
    return has_namespace_permission(principal, namespace.name, NamespacePermission.WRITE)


def _definition_details(form: ScheduleForm) -> dict[str, Any]:
    data = form.cleaned_data
    spec = data["cron"] if data["spec_kind"] == "cron" else f"every {data['every']} {data['every_unit']}"
    return {"workflow_type": data["workflow_type"], "task_queue": data["task_queue"], "spec": spec}


# --- the list ---------------------------------------------------------------------------------


@login_required
@require_GET
def schedule_list(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    context: dict[str, Any] = {
        **namespace_header_context(principal, namespace),
        "rows": [],
        "can_write": _can_write(principal, namespace),
        "engine_error": "",
    }
    try:
        context["rows"] = schedules.list_schedules(namespace.namespace_id)
    except ConsoleEngineError as exc:
        context["engine_error"], context["unreachable"] = exc.message, exc.unreachable
        return render_page(request, principal, "console/schedules.html", context, status=exc.http_status)
    return render_page(request, principal, "console/schedules.html", context)


# --- create and edit --------------------------------------------------------------------------


def _form_page(
    request: HttpRequest,
    principal: Principal,
    namespace: Namespace,
    form: ScheduleForm,
    *,
    schedule_id: str = "",
    engine_error: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        **namespace_header_context(principal, namespace),
        "form": form,
        "schedule_id": schedule_id,
        "engine_error": engine_error,
    }
    return render_page(request, principal, "console/schedule_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def schedule_create(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = resolve(request, account_id, name, need=NamespacePermission.WRITE)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    if request.method != "POST":
        return _form_page(request, principal, namespace, ScheduleForm())
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        return _form_page(request, principal, namespace, form, status=400)
    definition = form.definition()
    try:
        _change(
            principal,
            namespace,
            "CreateSchedule",
            definition.schedule_id,
            lambda: schedules.create_schedule(namespace.namespace_id, definition),
            _definition_details(form),
        )
    except ScheduleRefused as exc:
        return _form_page(request, principal, namespace, form, engine_error=exc.error.message, status=exc.http_status)
    messages.success(request, f"Schedule {definition.schedule_id} created.")
    return redirect("console_schedule", account_id, name, definition.schedule_id)


@login_required
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, account_id: str, name: str, schedule_id: str) -> HttpResponse:
    found = resolve(request, account_id, name, need=NamespacePermission.WRITE)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    try:
        current = schedules.describe_schedule(namespace.namespace_id, schedule_id)
    except ConsoleEngineError as exc:
        return engine_error_page(request, principal, namespace, exc)
    initial = initial_of(schedules.definition_of(schedule_id, current.schedule))
    initial["conflict_token"] = current.conflict_token.decode(errors="replace")
    form = ScheduleForm(request.POST if request.method == "POST" else None, initial=initial)
    form.fields["schedule_id"].disabled = True  # the id names the schedule: it cannot change
    if request.method != "POST":
        return _form_page(request, principal, namespace, form, schedule_id=schedule_id)
    if not form.is_valid():
        return _form_page(request, principal, namespace, form, schedule_id=schedule_id, status=400)
    definition = form.definition()
    # The token read with the form: a change someone made since then is a conflict, not lost.
    token = form.cleaned_data["conflict_token"].encode() or current.conflict_token
    try:
        _change(
            principal,
            namespace,
            "UpdateSchedule",
            schedule_id,
            lambda: schedules.update_schedule(
                namespace.namespace_id, definition, base=current.schedule, conflict_token=token
            ),
            _definition_details(form),
        )
    except ScheduleRefused as exc:
        message = exc.error.message
        if exc.error.code == grpc.StatusCode.FAILED_PRECONDITION:
            message = f"Someone changed this schedule since the form was opened ({message}): open the form again."
        return _form_page(
            request, principal, namespace, form, schedule_id=schedule_id, engine_error=message, status=exc.http_status
        )
    messages.success(request, f"Schedule {schedule_id} updated.")
    return redirect("console_schedule", account_id, name, schedule_id)


# --- one schedule -----------------------------------------------------------------------------


def _detail_page(
    request: HttpRequest,
    principal: Principal,
    namespace: Namespace,
    schedule_id: str,
    *,
    status: int = 200,
    delete_error: str = "",
) -> HttpResponse:
    try:
        detail = schedules.describe_schedule(namespace.namespace_id, schedule_id)
    except ConsoleEngineError as exc:
        return engine_error_page(request, principal, namespace, exc)
    context = {
        **namespace_header_context(principal, namespace),
        "s": detail,
        "can_write": _can_write(principal, namespace),
        "delete_error": delete_error,
    }
    return render_page(request, principal, "console/schedule.html", context, status=status)


@login_required
@require_GET
def schedule_detail(request: HttpRequest, account_id: str, name: str, schedule_id: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    return _detail_page(request, principal, namespace, schedule_id)


def _patch_view(request: HttpRequest, account_id: str, name: str, schedule_id: str, verb: str) -> HttpResponse:
    """Pause, resume and trigger: one PatchSchedule each."""
    found = resolve(request, account_id, name, need=NamespacePermission.WRITE)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, principal, namespace, schedule_id, status=400)
    note = form.cleaned_data["note"]
    patch, done, details = {
        "pause": (schedules.pause_patch(note), "paused", {"pause": note}),
        "resume": (schedules.unpause_patch(note), "resumed", {"unpause": note}),
        "trigger": (schedules.trigger_patch(), "triggered: a run starts now", {"trigger_immediately": True}),
    }[verb]
    try:
        _change(
            principal,
            namespace,
            "PatchSchedule",
            schedule_id,
            lambda: schedules.patch_schedule(namespace.namespace_id, schedule_id, patch),
            details,
        )
    except ScheduleRefused as exc:
        return engine_error_page(request, principal, namespace, exc.error)
    messages.success(request, f"Schedule {schedule_id} {done}.")
    return redirect("console_schedule", account_id, name, schedule_id)


@login_required
@require_POST
def schedule_pause(request: HttpRequest, account_id: str, name: str, schedule_id: str) -> HttpResponse:
    return _patch_view(request, account_id, name, schedule_id, "pause")


@login_required
@require_POST
def schedule_resume(request: HttpRequest, account_id: str, name: str, schedule_id: str) -> HttpResponse:
    return _patch_view(request, account_id, name, schedule_id, "resume")


@login_required
@require_POST
def schedule_trigger(request: HttpRequest, account_id: str, name: str, schedule_id: str) -> HttpResponse:
    return _patch_view(request, account_id, name, schedule_id, "trigger")


@login_required
@require_http_methods(["GET", "POST"])
def schedule_backfill(request: HttpRequest, account_id: str, name: str, schedule_id: str) -> HttpResponse:
    found = resolve(request, account_id, name, need=NamespacePermission.WRITE)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    form = BackfillForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {
        **namespace_header_context(principal, namespace),
        "form": form,
        "schedule_id": schedule_id,
        "engine_error": "",
    }
    if request.method != "POST":
        return render_page(request, principal, "console/schedule_backfill.html", context)
    if not form.is_valid():
        return render_page(request, principal, "console/schedule_backfill.html", context, status=400)
    start, end, overlap = form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["overlap"]
    details = {"backfill": {"start": start.isoformat(), "end": end.isoformat(), "overlap": overlap or "schedule's"}}
    try:
        _change(
            principal,
            namespace,
            "PatchSchedule",
            schedule_id,
            lambda: schedules.patch_schedule(
                namespace.namespace_id, schedule_id, schedules.backfill_patch(start, end, overlap)
            ),
            details,
        )
    except ScheduleRefused as exc:
        context["engine_error"] = exc.error.message
        return render_page(request, principal, "console/schedule_backfill.html", context, status=exc.http_status)
    messages.success(
        request,
        f"Schedule {schedule_id}: backfill from {start:%Y-%m-%d %H:%M:%S} to {end:%Y-%m-%d %H:%M:%S} UTC requested.",
    )
    return redirect("console_schedule", account_id, name, schedule_id)


@login_required
@require_POST
def schedule_delete(request: HttpRequest, account_id: str, name: str, schedule_id: str) -> HttpResponse:
    found = resolve(request, account_id, name, need=NamespacePermission.WRITE)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    if request.POST.get("confirm") != "yes":
        return _detail_page(
            request, principal, namespace, schedule_id, status=400, delete_error="Tick the box to confirm the deletion."
        )
    try:
        _change(
            principal,
            namespace,
            "DeleteSchedule",
            schedule_id,
            lambda: schedules.delete_schedule(namespace.namespace_id, schedule_id),
        )
    except ScheduleRefused as exc:
        return engine_error_page(request, principal, namespace, exc.error)
    messages.success(request, f"Schedule {schedule_id} deleted. Runs it started are not affected.")
    return redirect("console_schedules", account_id, name)


# --- a task queue -----------------------------------------------------------------------------


@login_required
@require_GET
def task_queue(request: HttpRequest, account_id: str, name: str, task_queue: str) -> HttpResponse:
    found = resolve(request, account_id, name)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    try:
        sides = describe_task_queue(namespace.namespace_id, task_queue)
    except ConsoleEngineError as exc:
        return engine_error_page(request, principal, namespace, exc)
    context = {
        **namespace_header_context(principal, namespace),
        "task_queue": task_queue,
        "sides": sides,
        "window_minutes": POLLER_WINDOW_MINUTES,
    }
    return render_page(request, principal, "console/task_queue.html", context)
