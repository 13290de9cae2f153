"""Logger and Tracer shared by every function, the one way to time an external call, and metrics.

Metrics are emitted one at a time (``count``) as EMF log lines, each with its own dimensions (the
failed step, the resource removed); nothing is buffered, so a crash loses no metric already counted.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "voice-agents")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "VoiceAgents")

logger = Logger(service=SERVICE)
# Patch only what the functions use: auto-patching everything imports botocore and requests
# (about 80 ms of cold start measured by tests/benchmarks/bench_webhook.py).
tracer = Tracer(service=SERVICE, patch_modules=("httpx", "pymongo"))


@contextmanager
def external_call(provider: str, operation: str) -> Iterator[None]:
    """A traced, timed call to a provider: one X-Ray subsegment and one debug line per call."""
    started = time.perf_counter()
    with tracer.provider.in_subsegment(f"## {provider}.{operation}") as subsegment:
        subsegment.put_annotation("provider", provider)
        subsegment.put_annotation("operation", operation)
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
