"""The permission table (engine/auth/permissions.py) covers every RPC the engine serves, so a
new RPC cannot be added without deciding who may call it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from temporalio.api.operatorservice.v1 import service_pb2_grpc as operator_grpc
from temporalio.api.workflowservice.v1 import service_pb2_grpc as workflow_grpc

from engine.auth.permissions import (
    OPERATOR_SERVICE,
    OPERATOR_SERVICE_NAME,
    TABLES,
    TASK_TOKEN_METHODS,
    WORKFLOW_SERVICE,
    WORKFLOW_SERVICE_NAME,
    Permission,
    Scope,
)
from engine.frontend.operator_service import OPERATOR_SERVICE_NAME as SERVED_OPERATOR
from engine.frontend.operator_service import OperatorService
from engine.frontend.safe_handlers import _Capture
from engine.frontend.workflow_service import SERVICE_NAME as SERVED_WORKFLOW
from engine.frontend.workflow_service import WorkflowService


def served(add_to_server: Callable[[Any, Any], None], servicer: type) -> dict[str, Any]:
    """Method name → request class of every RPC the servicer answers with more than UNIMPLEMENTED."""
    capture = _Capture()
    add_to_server(object.__new__(servicer), capture)  # registration only reads its bound methods
    return {
        name: getattr(handler.request_deserializer, "__self__")  # noqa: B009  (Request.FromString's class)
        for name, handler in capture.handlers.items()
        if not getattr(handler.unary_unary, "unimplemented", False)
    }


SERVED = {
    WORKFLOW_SERVICE_NAME: served(workflow_grpc.add_WorkflowServiceServicer_to_server, WorkflowService),
    OPERATOR_SERVICE_NAME: served(operator_grpc.add_OperatorServiceServicer_to_server, OperatorService),
}


def test_the_table_names_the_services_the_engine_serves() -> None:
    assert (WORKFLOW_SERVICE_NAME, OPERATOR_SERVICE_NAME) == (SERVED_WORKFLOW, SERVED_OPERATOR)


@pytest.mark.parametrize("service", sorted(SERVED))
def test_every_served_rpc_is_in_the_table(service: str) -> None:
    missing = sorted(set(SERVED[service]) - set(TABLES[service]))
    assert not missing, f"add these RPCs to engine/auth/permissions.py: {missing}"


@pytest.mark.parametrize("service", sorted(SERVED))
def test_every_namespaced_rpc_names_its_namespace(service: str) -> None:
    for method, request in SERVED[service].items():
        if isinstance(TABLES[service][method], Permission):
            assert "namespace" in request.DESCRIPTOR.fields_by_name, method


def test_task_token_rpcs_carry_a_token() -> None:
    for method in TASK_TOKEN_METHODS:
        assert "task_token" in SERVED[WORKFLOW_SERVICE_NAME][method].DESCRIPTOR.fields_by_name


def test_the_contracts_permission_classes() -> None:
    """docs/engine-admin-api.md: Describe*/List*/Count*/Get* and queries read; tenants never
    create or delete namespaces; search-attribute changes need Admin."""
    for table in (WORKFLOW_SERVICE, OPERATOR_SERVICE):
        for method, need in table.items():
            if method.startswith(("Describe", "List", "Count", "Get", "Scan")) and method != "ListNamespaces":
                assert need in (Permission.READ, Scope.AUTHENTICATED), method
            elif method.startswith(("Start", "Signal", "Poll", "Respond", "Record", "Terminate", "Delete")):
                assert need in (Permission.WRITE, Scope.CONTROL_PLANE), method
    assert WORKFLOW_SERVICE["QueryWorkflow"] is Permission.READ
    assert WORKFLOW_SERVICE["GetSystemInfo"] is Scope.AUTHENTICATED
    assert WORKFLOW_SERVICE["ListNamespaces"] is Scope.OWN_NAMESPACES
    assert WORKFLOW_SERVICE["RegisterNamespace"] is Scope.CONTROL_PLANE
    assert OPERATOR_SERVICE["DeleteNamespace"] is Scope.CONTROL_PLANE
    assert OPERATOR_SERVICE["AddSearchAttributes"] is OPERATOR_SERVICE["RemoveSearchAttributes"] is Permission.ADMIN
    assert WORKFLOW_SERVICE["UpdateNamespace"] is Permission.ADMIN
