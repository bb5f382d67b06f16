"""What each tenant RPC needs: the one table every WorkflowService and OperatorService call is
checked against (docs/engine-admin-api.md, "What the engine enforces").

A served RPC missing from the table is refused (PERMISSION_DENIED) rather than let through, and
`tests/engine/test_auth_permissions.py` fails until it is added.
"""

from __future__ import annotations

from enum import Enum, IntEnum

WORKFLOW_SERVICE_NAME = "temporal.api.workflowservice.v1.WorkflowService"
OPERATOR_SERVICE_NAME = "temporal.api.operatorservice.v1.OperatorService"


class Permission(IntEnum):
    """A principal's permission on a namespace; each includes the ones below it."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @classmethod
    def parse(cls, text: str) -> Permission:
        """'read' / 'write' / 'admin' (the admin API's spelling); ValueError otherwise."""
        try:
            return _BY_NAME[text]
        except KeyError:
            raise ValueError(f"unknown permission {text!r} (expected read, write or admin)") from None

    @property
    def label(self) -> str:
        return self.name.lower()


_BY_NAME = {p.name.lower(): p for p in Permission}


class Scope(Enum):
    """Calls that are not checked against one namespace."""

    AUTHENTICATED = "any valid credential"  # nothing namespaced is revealed
    OWN_NAMESPACES = "any valid credential; the answer holds only namespaces the caller may read"
    CONTROL_PLANE = "the control plane only (through the engine admin API)"


Need = Permission | Scope

R, W, A = Permission.READ, Permission.WRITE, Permission.ADMIN

WORKFLOW_SERVICE: dict[str, Need] = {
    # system and namespaces
    "GetSystemInfo": Scope.AUTHENTICATED,
    "GetClusterInfo": Scope.AUTHENTICATED,
    "GetSearchAttributes": Scope.AUTHENTICATED,  # system and predefined attributes: no namespace
    "ListNamespaces": Scope.OWN_NAMESPACES,
    "RegisterNamespace": Scope.CONTROL_PLANE,
    "DeprecateNamespace": Scope.CONTROL_PLANE,
    "DescribeNamespace": R,
    "UpdateNamespace": A,
    # reading workflows
    "DescribeWorkflowExecution": R,
    "GetWorkflowExecutionHistory": R,
    "GetWorkflowExecutionHistoryReverse": R,
    "QueryWorkflow": R,
    "ListOpenWorkflowExecutions": R,
    "ListClosedWorkflowExecutions": R,
    "ListWorkflowExecutions": R,
    "ScanWorkflowExecutions": R,
    "CountWorkflowExecutions": R,
    "DescribeTaskQueue": R,
    "ListTaskQueuePartitions": R,
    # changing workflows
    "StartWorkflowExecution": W,
    "SignalWorkflowExecution": W,
    "SignalWithStartWorkflowExecution": W,
    "UpdateWorkflowExecution": W,
    "ExecuteMultiOperation": W,  # update-with-start
    "PollWorkflowExecutionUpdate": W,  # as every Poll* in the contract
    "RequestCancelWorkflowExecution": W,
    "TerminateWorkflowExecution": W,
    "DeleteWorkflowExecution": W,
    "ResetWorkflowExecution": W,
    "ResetStickyTaskQueue": W,
    # workers
    "PollWorkflowTaskQueue": W,
    "RespondWorkflowTaskCompleted": W,
    "RespondWorkflowTaskFailed": W,
    "RespondQueryTaskCompleted": W,
    "PollActivityTaskQueue": W,
    "RecordActivityTaskHeartbeat": W,
    "RecordActivityTaskHeartbeatById": W,
    "RespondActivityTaskCompleted": W,
    "RespondActivityTaskCompletedById": W,
    "RespondActivityTaskFailed": W,
    "RespondActivityTaskFailedById": W,
    "RespondActivityTaskCanceled": W,
    "RespondActivityTaskCanceledById": W,
    "ShutdownWorker": W,
    # schedules
    "DescribeSchedule": R,
    "ListSchedules": R,
    "CountSchedules": R,
    "ListScheduleMatchingTimes": R,
    "CreateSchedule": W,
    "UpdateSchedule": W,
    "PatchSchedule": W,
    "DeleteSchedule": W,
    # batch operations
    "DescribeBatchOperation": R,
    "ListBatchOperations": R,
    "StartBatchOperation": W,
    "StopBatchOperation": W,
}

OPERATOR_SERVICE: dict[str, Need] = {
    "ListSearchAttributes": R,
    "AddSearchAttributes": A,
    "RemoveSearchAttributes": A,
    "DeleteNamespace": Scope.CONTROL_PLANE,
}

TABLES: dict[str, dict[str, Need]] = {
    WORKFLOW_SERVICE_NAME: WORKFLOW_SERVICE,
    OPERATOR_SERVICE_NAME: OPERATOR_SERVICE,
}

# Calls naming a task the engine handed out: the token's namespace must be the request's.
TASK_TOKEN_METHODS = frozenset(
    {
        "RespondWorkflowTaskCompleted",
        "RespondWorkflowTaskFailed",
        "RespondQueryTaskCompleted",
        "RecordActivityTaskHeartbeat",
        "RespondActivityTaskCompleted",
        "RespondActivityTaskFailed",
        "RespondActivityTaskCanceled",
    }
)


def need_of(service: str, method: str) -> Need | None:
    """What `service`/`method` needs; None for a method the table does not know."""
    return TABLES.get(service, {}).get(method)
