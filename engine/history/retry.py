"""Retry policies: defaults, validation and the next-attempt decision (pure functions)."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.api.common.v1 import RetryPolicy
from temporalio.api.enums.v1 import RetryState
from temporalio.api.failure.v1 import Failure

from engine.history.errors import InvalidArgument
from engine.history.events import duration, seconds_of

DEFAULT_INITIAL_INTERVAL = 1.0
DEFAULT_BACKOFF_COEFFICIENT = 2.0
DEFAULT_MAXIMUM_INTERVAL_FACTOR = 100  # maximum interval defaults to 100 × the initial interval


WORKFLOW_TASK_BACKOFF_FROM_ATTEMPT = 3  # Temporal's workflowTaskRetryBackoffMinAttempts
WORKFLOW_TASK_BACKOFF_INITIAL = 5.0
WORKFLOW_TASK_BACKOFF_MAXIMUM = 600.0  # Temporal's WorkflowTaskRetryMaxInterval default


def workflow_task_timeout(default: float, attempt: int) -> float:
    """A workflow task's start-to-close timeout: from its 4th attempt on it grows by 5 s, 10 s,
    20 s, … (at most 10 min more), as Temporal's, so a task that keeps failing is retried less
    and less often."""
    if attempt <= WORKFLOW_TASK_BACKOFF_FROM_ATTEMPT:
        return default
    extra = WORKFLOW_TASK_BACKOFF_INITIAL * 2.0 ** (attempt - WORKFLOW_TASK_BACKOFF_FROM_ATTEMPT - 1)
    return default + min(extra, WORKFLOW_TASK_BACKOFF_MAXIMUM)


def normalized_activity_retry_policy(policy: RetryPolicy | None) -> RetryPolicy:
    """Fill Temporal's defaults into an activity retry policy; reject nonsense values."""
    result = RetryPolicy()
    if policy is not None:
        result.CopyFrom(policy)
    initial = seconds_of(result.initial_interval)
    if initial < 0:
        raise InvalidArgument("retry_policy.initial_interval must not be negative")
    if initial == 0:
        initial = DEFAULT_INITIAL_INTERVAL
        result.initial_interval.CopyFrom(duration(initial))
    if result.backoff_coefficient == 0:
        result.backoff_coefficient = DEFAULT_BACKOFF_COEFFICIENT
    if result.backoff_coefficient < 1:
        raise InvalidArgument("retry_policy.backoff_coefficient must be at least 1")
    maximum = seconds_of(result.maximum_interval)
    if maximum < 0:
        raise InvalidArgument("retry_policy.maximum_interval must not be negative")
    if maximum == 0:
        result.maximum_interval.CopyFrom(duration(initial * DEFAULT_MAXIMUM_INTERVAL_FACTOR))
    elif maximum < initial:
        raise InvalidArgument("retry_policy.maximum_interval must not be less than initial_interval")
    if result.maximum_attempts < 0:
        raise InvalidArgument("retry_policy.maximum_attempts must not be negative")
    return result


@dataclass(frozen=True)
class RetryDecision:
    retry: bool
    backoff: float = 0.0  # seconds until the next attempt
    state: int = RetryState.RETRY_STATE_IN_PROGRESS


def backoff_for(policy: RetryPolicy, attempt: int) -> float:
    """Delay before attempt `attempt + 1`: initial × coefficient^(attempt-1), capped."""
    interval = seconds_of(policy.initial_interval) * policy.backoff_coefficient ** (attempt - 1)
    maximum = seconds_of(policy.maximum_interval)
    return min(interval, maximum) if maximum > 0 else interval


def decide_retry(
    policy: RetryPolicy,
    *,
    attempt: int,
    failure: Failure | None,
    now: float,
    expiration: float,  # 0 = no schedule-to-close deadline
    timeout: bool = False,
) -> RetryDecision:
    """Whether a failed attempt is retried, and after how long (Temporal's rules)."""
    if failure is not None and not timeout:
        info = failure.application_failure_info if failure.HasField("application_failure_info") else None
        if info is not None and (info.non_retryable or info.type in policy.non_retryable_error_types):
            return RetryDecision(False, state=RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE)
    if policy.maximum_attempts and attempt >= policy.maximum_attempts:
        return RetryDecision(False, state=RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED)
    delay = backoff_for(policy, attempt)
    if failure is not None and failure.HasField("application_failure_info"):
        explicit = failure.application_failure_info.next_retry_delay
        if explicit.seconds or explicit.nanos:
            delay = seconds_of(explicit)
    if expiration and now + delay >= expiration:
        return RetryDecision(False, state=RetryState.RETRY_STATE_TIMEOUT)
    return RetryDecision(True, backoff=delay)
