"""The workflow actions of the console: POSTs from the run page's action panel, the reset page and
the start page.

Each view resolves the caller first (``console.access.resolve``: 404 for a namespace they may not
see, 403 for a write they may not make, before anything reaches the engine), validates its form
(400 with the form and the message, nothing sent, nothing audited), then calls the engine inside
``audited`` so that the action, or the engine's refusal, is in the audit log.

Actions that only change the run (signal, cancel, terminate, reset, start) answer with a
redirect to the run's page and a success message (post/redirect/get). Actions that answer
something (query, stack trace, update) show the answer: an htmx request gets the fragment that
goes under the panel, a plain form POST the whole page. htmx 2 does not swap 4xx/5xx answers,
so fragments always come back as 200 and carry the real status in ``data-status``; plain pages
use the real status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import NamespacePermission
from accounts.principal import Principal
from accounts.views.common import render_page
from audit.services import audited
from console import actions
from console.access import resolve
from console.action_forms import (
    CancelForm,
    QueryForm,
    ResetForm,
    SignalForm,
    StartForm,
    TerminateForm,
    UpdateForm,
)
from console.actions import EngineRefused
from namespaces.models import Namespace
from namespaces.views import namespace_header_context

T = TypeVar("T")

WRITE = NamespacePermission.WRITE


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _run_url(account_id: str, name: str, workflow_id: str, run_id: str) -> str:
    return reverse("console_workflow", args=[account_id, name, workflow_id, run_id])


def _perform(
    principal: Principal,
    operation: str,
    target_id: str,
    details: Mapping[str, Any],
    call: Callable[[], T],
) -> T:
    """``call()`` recorded in the audit log as ``operation`` (an ERROR entry when the engine
    refuses: ``EngineRefused`` propagates to the caller)."""
    with audited(principal, operation, target_type="workflow", target_id=target_id, details=details):
        return call()


class Run:
    """The run a POST is about, and how to answer about it."""

    def __init__(
        self, request: HttpRequest, principal: Principal, namespace: Namespace, workflow_id: str, run_id: str
    ) -> None:
        self.request = request
        self.principal = principal
        self.namespace = namespace
        self.workflow_id = workflow_id
        self.run_id = run_id

    @property
    def namespace_id(self) -> str:
        return self.namespace.namespace_id

    @property
    def target(self) -> str:
        return f"{self.namespace.namespace_id}/{self.workflow_id}/{self.run_id}"

    @property
    def url(self) -> str:
        return _run_url(self.principal.account.account_id, self.namespace.name, self.workflow_id, self.run_id)

    def action_url(self, verb: str) -> str:
        return reverse(
            f"console_run_{verb.replace('-', '_')}",
            args=[self.principal.account.account_id, self.namespace.name, self.workflow_id, self.run_id],
        )

    @property
    def caller(self) -> str:
        return actions.identity(self.principal)

    def answer(
        self,
        *,
        verb: str,
        title: str,
        form: forms.Form | None = None,
        heading: str = "",
        result: str = "",
        error: str = "",
        status: int = 200,
        submit: str = "",
    ) -> HttpResponse:
        """The fragment (htmx) or the page that shows a result, a refusal or a form's errors."""
        context: dict[str, Any] = {
            **namespace_header_context(self.principal, self.namespace),
            "verb": verb,
            "title": title,
            "form": form,
            "heading": heading,
            "result": result,
            "error": error,
            "status": status,
            "submit": submit or title,
            "action_url": self.action_url(verb),
            "run_url": self.url,
            "workflow_id": self.workflow_id,
            "run_id": self.run_id,
        }
        if _is_htmx(self.request):
            html = render_to_string("console/_action_result.html", context, request=self.request)
            return HttpResponse(html)
        return render_page(self.request, self.principal, "console/action.html", context, status=status)

    def done(self, message: str, *, verb: str) -> HttpResponse:
        """Success: a plain POST goes back to the run's page; an htmx POST stays on it (the
        page's live updates show the events the action caused) and gets a confirmation."""
        if _is_htmx(self.request):
            return self.answer(verb=verb, title=message, heading=message)
        messages.success(self.request, message)
        return redirect(self.url)


def _run_of(
    request: HttpRequest,
    account_id: str,
    name: str,
    workflow_id: str,
    run_id: str,
    need: NamespacePermission = WRITE,
) -> Run | HttpResponse:
    found = resolve(request, account_id, name, need)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found
    return Run(request, principal, namespace, workflow_id, run_id)


# --- answering actions (Read) -----------------------------------------------------------------


@login_required
@require_POST
def run_query(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    run = _run_of(request, account_id, name, workflow_id, run_id, NamespacePermission.READ)
    if isinstance(run, HttpResponse):
        return run
    form = QueryForm(request.POST, auto_id="query_%s")
    if not form.is_valid():
        return run.answer(verb="query", title="Query", form=form, status=400, error="Check the query form.")
    query_name = form.cleaned_data["name"]
    try:
        text = _perform(
            run.principal,
            "QueryWorkflow",
            run.target,
            {"query": query_name},
            lambda: actions.query(
                run.namespace_id, workflow_id, run_id, name=query_name, arguments=form.cleaned_data["arguments"]
            ),
        )
    except EngineRefused as exc:
        return run.answer(verb="query", title="Query", form=form, error=str(exc), status=exc.http_status)
    return run.answer(verb="query", title="Query", form=form, heading=f"Query {query_name!r} returned", result=text)


@login_required
@require_POST
def run_stack_trace(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    run = _run_of(request, account_id, name, workflow_id, run_id, NamespacePermission.READ)
    if isinstance(run, HttpResponse):
        return run
    title = "Stack trace"
    try:
        text = _perform(
            run.principal,
            "QueryWorkflow",
            run.target,
            {"query": actions.STACK_TRACE_QUERY},
            lambda: actions.stack_trace(run.namespace_id, workflow_id, run_id),
        )
    except EngineRefused as exc:
        return run.answer(verb="stack-trace", title=title, error=str(exc), status=exc.http_status)
    return run.answer(verb="stack-trace", title=title, heading="Call stack", result=text or "(empty)")


@login_required
@require_POST
def run_update(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    run = _run_of(request, account_id, name, workflow_id, run_id)
    if isinstance(run, HttpResponse):
        return run
    form = UpdateForm(request.POST, auto_id="update_%s")
    title = "Update"
    if not form.is_valid():
        return run.answer(verb="update", title=title, form=form, status=400, error="Check the update form.")
    update_name = form.cleaned_data["name"]
    try:
        outcome = _perform(
            run.principal,
            "UpdateWorkflowExecution",
            run.target,
            {"update": update_name},
            lambda: actions.update(
                run.namespace_id,
                workflow_id,
                run_id,
                name=update_name,
                arguments=form.cleaned_data["arguments"],
                caller=run.caller,
            ),
        )
    except EngineRefused as exc:
        return run.answer(verb="update", title=title, form=form, error=str(exc), status=exc.http_status)
    if outcome.failure:
        return run.answer(
            verb="update", title=title, form=form, heading=f"Update {update_name!r} failed", error=outcome.failure
        )
    if not outcome.completed:
        return run.answer(
            verb="update",
            title=title,
            form=form,
            heading=f"Update {update_name!r} accepted",
            result="The update was accepted; its result is not known yet.",
        )
    return run.answer(
        verb="update", title=title, form=form, heading=f"Update {update_name!r} returned", result=outcome.result
    )


# --- changing actions (Write) -----------------------------------------------------------------


@dataclass(frozen=True)
class _Change:
    """One form-driven change of a run: its form, the audit operation, the engine call."""

    verb: str
    form: type[forms.Form]
    title: str
    invalid: str  # the line shown above a form with errors
    operation: str
    details: Callable[[dict[str, Any]], dict[str, Any]]
    call: Callable[[Run, dict[str, Any]], object]
    done: Callable[[dict[str, Any]], str]


def _change(
    request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str, change: _Change
) -> HttpResponse:
    run = _run_of(request, account_id, name, workflow_id, run_id)
    if isinstance(run, HttpResponse):
        return run
    form = change.form(request.POST, auto_id=f"{change.verb}_%s")
    if not form.is_valid():
        return run.answer(verb=change.verb, title=change.title, form=form, status=400, error=change.invalid)
    data = form.cleaned_data
    try:
        _perform(run.principal, change.operation, run.target, change.details(data), lambda: change.call(run, data))
    except EngineRefused as exc:
        return run.answer(verb=change.verb, title=change.title, form=form, error=str(exc), status=exc.http_status)
    return run.done(change.done(data), verb=change.verb)


_SIGNAL = _Change(
    verb="signal",
    form=SignalForm,
    title="Send a signal",
    invalid="Check the signal form.",
    operation="SignalWorkflowExecution",
    details=lambda data: {"signal": data["name"]},
    call=lambda run, data: actions.signal(
        run.namespace_id,
        run.workflow_id,
        run.run_id,
        name=data["name"],
        arguments=data["arguments"],
        caller=run.caller,
    ),
    done=lambda data: f"Signal {data['name']!r} sent",
)
_CANCEL = _Change(
    verb="cancel",
    form=CancelForm,
    title="Request cancellation",
    invalid="Check the cancellation form.",
    operation="RequestCancelWorkflowExecution",
    details=lambda data: {"reason": data["reason"]},
    call=lambda run, data: actions.request_cancel(
        run.namespace_id, run.workflow_id, run.run_id, reason=data["reason"], caller=run.caller
    ),
    done=lambda data: "Cancellation requested",
)
_TERMINATE = _Change(
    verb="terminate",
    form=TerminateForm,
    title="Terminate",
    invalid="Check the termination form.",
    operation="TerminateWorkflowExecution",
    details=lambda data: {"reason": data["reason"]},
    call=lambda run, data: actions.terminate(
        run.namespace_id, run.workflow_id, run.run_id, reason=data["reason"], caller=run.caller
    ),
    done=lambda data: "Workflow terminated",
)


@login_required
@require_POST
def run_signal(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    return _change(request, account_id, name, workflow_id, run_id, _SIGNAL)


@login_required
@require_POST
def run_cancel(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    return _change(request, account_id, name, workflow_id, run_id, _CANCEL)


@login_required
@require_POST
def run_terminate(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    return _change(request, account_id, name, workflow_id, run_id, _TERMINATE)


@login_required
@require_http_methods(["GET", "POST"])
def run_reset(request: HttpRequest, account_id: str, name: str, workflow_id: str, run_id: str) -> HttpResponse:
    """A page of its own: the reset points are read from the run's history."""
    run = _run_of(request, account_id, name, workflow_id, run_id)
    if isinstance(run, HttpResponse):
        return run
    title = "Reset"
    try:
        points = actions.reset_points(run.namespace_id, workflow_id, run_id)
    except EngineRefused as exc:
        return run.answer(verb="reset", title=title, error=str(exc), status=exc.http_status)
    if request.method == "GET":
        return run.answer(verb="reset", title=title, form=ResetForm(points=points, auto_id="reset_%s"))
    form = ResetForm(request.POST, points=points, auto_id="reset_%s")
    if not form.is_valid():
        return run.answer(verb="reset", title=title, form=form, status=400, error="Check the reset form.")
    data = form.cleaned_data
    try:
        new_run_id = _perform(
            run.principal,
            "ResetWorkflowExecution",
            run.target,
            {"reason": data["reason"], "event_id": data["event_id"], "reapply_signals": data["reapply_signals"]},
            lambda: actions.reset(
                run.namespace_id,
                workflow_id,
                run_id,
                event_id=data["event_id"],
                reason=data["reason"],
                reapply_signals=data["reapply_signals"],
                caller=run.caller,
            ),
        )
    except EngineRefused as exc:
        return run.answer(verb="reset", title=title, form=form, error=str(exc), status=exc.http_status)
    messages.success(request, f"Workflow reset: the new run is {new_run_id}")
    return redirect(_run_url(account_id, name, workflow_id, new_run_id))


# --- a new run --------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def start_workflow(request: HttpRequest, account_id: str, name: str) -> HttpResponse:
    found = resolve(request, account_id, name, WRITE)
    if isinstance(found, HttpResponse):
        return found
    principal, namespace = found

    def page(form: StartForm, *, error: str = "", status: int = 200) -> HttpResponse:
        context = {**namespace_header_context(principal, namespace), "form": form, "error": error}
        return render_page(request, principal, "console/start_workflow.html", context, status=status)

    if request.method == "GET":
        initial = {
            "workflow_type": request.GET.get("type", "")[:200],
            "task_queue": request.GET.get("task_queue", "")[:200],
        }
        return page(StartForm(initial=initial))
    form = StartForm(request.POST)
    if not form.is_valid():
        return page(form, error="Check the form.", status=400)
    data = form.cleaned_data
    workflow_id = data["workflow_id"]
    try:
        with audited(
            principal,
            "StartWorkflowExecution",
            target_type="workflow",
            target_id=f"{namespace.namespace_id}/{workflow_id}",
            details={"workflow_type": data["workflow_type"], "task_queue": data["task_queue"]},
        ) as entry:
            new_run_id = actions.start(
                namespace.namespace_id,
                workflow_id=workflow_id,
                workflow_type=data["workflow_type"],
                task_queue=data["task_queue"],
                arguments=data["arguments"],
                execution_timeout=form.timeout,
                caller=actions.identity(principal),
            )
            entry["target_id"] = f"{namespace.namespace_id}/{workflow_id}/{new_run_id}"
    except EngineRefused as exc:
        return page(form, error=str(exc), status=exc.http_status)
    messages.success(request, f"Workflow {workflow_id!r} started")
    return redirect(_run_url(account_id, name, workflow_id, new_run_id))
