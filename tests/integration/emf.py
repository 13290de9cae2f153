"""Metrics as CloudWatch would read them: the EMF lines a function printed on stdout."""

from __future__ import annotations

import json
from collections import defaultdict


def emitted_metrics(stdout: str) -> dict[str, list[float]]:
    """Every metric value printed, by metric name, in order."""
    found: dict[str, list[float]] = defaultdict(list)
    for line in stdout.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if not isinstance(document, dict) or "_aws" not in document:
            continue
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                found[metric["Name"]] += value if isinstance(value, list) else [value]
    return dict(found)
