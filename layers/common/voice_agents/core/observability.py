"""Logger and Tracer shared by every function, the one way to time an external call, and metrics.

Tracing costs nothing when it is off (POWERTOOLS_TRACE_DISABLED=true, or outside Lambda): Powertools'
Tracer imports the X-Ray SDK as it is made, even disabled, so ``tracer`` makes one only when tracing
is on; off, its decorator hands the handler back unchanged and ``external_call`` opens no subsegment.

Traces carry no personal data: a subsegment holds its name, timing and annotations, never a handler's
answer (agents' prompts, callers' numbers in TwiML) nor an exception's message (providers' messages
quote numbers); a failure is its fault flag and its exception's type.

Metrics are emitted one at a time (``count``) as EMF log lines, each with its own dimensions (the
failed step, the resource removed); nothing is buffered, so a crash loses no metric already counted.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

F = TypeVar("F", bound=Callable[..., object])

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "voice-agents")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "VoiceAgents")

logger = Logger(service=SERVICE)


def tracing_enabled() -> bool:
    """Powertools' own rule: on in Lambda unless POWERTOOLS_TRACE_DISABLED is true; off under SAM local."""
    if resolve_truthy_env_var_choice(env=os.environ.get("POWERTOOLS_TRACE_DISABLED", "false")):
        return False
    return bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")


class OptionalTracer:
    """Powertools' Tracer, made at import, when tracing is on; nothing at all when it is off.

    Subsegments are opened here rather than by Powertools' ``capture_lambda_handler``: that one records
    the answer unless told not to, and even with ``capture_error=False`` the X-Ray SDK's subsegment
    context manager it uses records ``str(exception)`` of whatever passes through it.
    """

    def __init__(self, service: str, patch_modules: Sequence[str]) -> None:
        self.service = service
        self.tracer = Tracer(service=service, patch_modules=patch_modules) if tracing_enabled() else None
        self._cold_start = True

    def capture_lambda_handler(self, handler: F) -> F:
        if self.tracer is None:
            return handler

        @functools.wraps(handler)
        def traced(event: Any, context: Any) -> Any:
            cold_start, self._cold_start = self._cold_start, False
            with self.subsegment(f"## {handler.__name__}", ColdStart=cold_start, Service=self.service):
                return handler(event, context)

        return cast(F, traced)

    @contextmanager
    def subsegment(self, name: str, **annotations: str | bool) -> Iterator[None]:
        if self.tracer is None:
            yield
            return
        recorder: Any = self.tracer.provider  # the X-Ray SDK's recorder (Powertools types it as its base)
        subsegment = recorder.begin_subsegment(name)
        if subsegment is None:  # no segment to hang it on (AWS_XRAY_CONTEXT_MISSING=IGNORE_ERROR)
            yield
            return
        try:
            for key, value in annotations.items():
                subsegment.put_annotation(key, value)
            yield
        except Exception as error:
            subsegment.add_fault_flag()
            subsegment.put_annotation("error", type(error).__name__)
            raise
        finally:
            recorder.end_subsegment()


# Patch only what the functions use: auto-patching everything imports botocore and requests
# (about 80 ms more of cold start with tracing on).
tracer = OptionalTracer(SERVICE, patch_modules=("httpx", "pymongo"))


@contextmanager
def external_call(provider: str, operation: str) -> Iterator[None]:
    """A traced, timed call to a provider: one X-Ray subsegment (tracing on) and one debug line per call."""
    started = time.perf_counter()
    with tracer.subsegment(f"## {provider}.{operation}", provider=provider, operation=operation):
        try:
            yield
        finally:
            logger.debug(
                "external call finished",
                provider=provider,
                operation=operation,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )


def count(name: str, value: int = 1, **dimensions: str) -> None:
    """Emit one count metric now, with its own dimensions (e.g. the failed step)."""
    if is_metrics_disabled():  # single_metric does not check this itself
        return
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=value,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        for key, dimension in dimensions.items():
            metric.add_dimension(key, dimension)
