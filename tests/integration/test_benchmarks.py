"""Every benchmark module runs to the end with tiny sizes and prints its figures.

The figures themselves are never asserted (they depend on the machine); what the benchmarks check
along the way is: a rate-limited burst of creates leaves nothing paid for behind, a Twilio retry
registers no second call, tracing off loads no X-Ray SDK, the per-owner rate limit adds one database
round trip to a request and none to a refusal the instance remembers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def run_benchmark(module: str, *arguments: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", f"tests.benchmarks.{module}", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert result, done.stdout[-3000:]
    figures: dict[str, Any] = json.loads(result[-1].removeprefix("RESULT "))
    return figures


def test_cold_start_benchmark_runs() -> None:
    figures = run_benchmark(
        "bench_cold_start", "--runs", "1", "--profiles", "1", "--functions", "twilio_webhook"
    )

    webhook = figures["twilio_webhook"]
    assert "aws_xray_sdk" not in webhook["tracing off"]["loaded"]
    assert "aws_xray_sdk" in webhook["tracing on"]["loaded"]
    assert webhook["tracing off"]["heaviest_ms"]


def test_webhook_benchmark_runs() -> None:
    figures = run_benchmark("bench_webhook", "--runs", "20")

    assert figures["register_call_count"] == figures["register_call_expected"]
    assert figures["retry_same_answer"] == 20


def test_call_history_benchmark_runs_and_a_forged_event_sends_no_database_command() -> None:
    figures = run_benchmark("bench_call_history", "--calls", "5", "--runs", "2")

    assert figures["answers"]["event"] == figures["answers"]["replay"] == {"204": 5}
    assert figures["answers"]["unknown call"] == {"204": 5}
    assert figures["answers"]["forged"] == {"401": 5}
    assert figures["commands"]["forged"] == {}
    assert figures["pages"] == 1


def test_call_search_benchmark_runs_and_no_request_sends_a_command_per_call() -> None:
    figures = run_benchmark("bench_call_search", "--calls", "40", "--runs", "2")

    assert {label: each["status"] for label, each in figures.items()} == dict.fromkeys(figures, 200)
    # The agent (or the owner's agents), the calls, their routes (40 calls fit in a first batch)
    assert all(sum(each["commands"].values()) <= 3 for each in figures.values()), figures
    assert figures["usage, 30 days"]["items"] == 30
    assert all(each["plan"] for each in figures.values())


def test_call_record_benchmark_runs_and_a_record_stays_within_the_caps_bounds() -> None:
    figures = run_benchmark("bench_call_record", "--runs", "2")

    # The conversations are seeded: these are sizes, not timings
    ten, hour = figures["10 minutes"], figures["60 minutes"]
    assert not ten["truncated"] and not hour["truncated"]
    assert ten["record_bson_bytes"] < 32_000 and hour["record_bson_bytes"] < 128_000
    assert figures["at the caps, 4-byte characters"]["transcript_bson_bytes"] < 512_000


def test_scale_benchmark_runs_and_rate_limited_creates_leave_nothing_behind() -> None:
    creates = 3
    figures = run_benchmark(
        "bench_scale",
        *("--agents", "30", "--list-repeats", "1", "--webhooks", "1", "2", "--webhook-calls", "4"),
        *("--page-delay-ms", "50", "--sweep-timeout-ms", "21000"),
        *("--creates", str(creates), "--twilio-rate", "2", "--twilio-burst", "2"),
    )

    assert figures["listing"]["pages"] == 1
    assert (
        figures["reconciler at 30"]["3 records to repair"]["provider_by_operation"]["twilio.release_number"]
        == 3
    )
    creates_figures = figures["creates"]
    assert sum(creates_figures["answers"].values()) == creates
    assert set(creates_figures["answers"]) <= {"201", "502 provisioning_failed", "504 deadline_exceeded"}
    assert creates_figures["left_behind"] == []


def test_update_benchmark_runs() -> None:
    figures = run_benchmark("bench_update_agent", "--runs", "2")
    assert figures["bound_ms"] == 900 and len(figures["warm_ms"]) == 4


def test_webhook_flood_benchmark_runs_and_forged_requests_cost_no_database_command() -> None:
    figures = run_benchmark("bench_webhook_flood", "--seconds", "1", "--forgers", "2", "--calls", "5")

    forged = figures["forged alone"]
    assert set(forged["answers"]) == {"403"} and forged["answers"]["403"] > 0
    assert forged["database_commands"] == 0
    # Every signed call still connected while the flood ran
    during = figures["signed during the flood"]
    assert during["connected"] == during["calls"] == 5
    assert figures["handler alone, ms"]["oversized_status"] == 413


def test_rate_limit_benchmark_runs_and_the_limiter_costs_one_round_trip_and_a_flood_none() -> None:
    figures = run_benchmark("bench_rate_limit", "--runs", "5")

    for route in figures["routes"].values():
        without, counted = route["without limiter"], route["with limiter"]
        assert without["answers"] == counted["answers"] == {"200": 5}
        assert counted["commands"] == {**without["commands"], "findAndModify": 1.0}
    refused = figures["refused"]
    assert refused["refused, counted"]["commands"]["findAndModify"] == 1.0
    assert refused["refused, counted"]["commands"].get("find", 0) <= 0.2
    # What the instance remembers costs no round trip (unless a minute ended between two requests)
    remembered = refused["refused, remembered"]
    assert remembered["answers"].get("429", 0) >= 4
    assert remembered["commands"].get("findAndModify", 0) <= 0.2


def test_notifications_benchmark_runs_and_delivers_each_once_verified() -> None:
    figures = run_benchmark("bench_notifications", "--calls", "3", "--retried", "1", "--dead", "1")

    assert (figures["first_try"], figures["retried"], figures["dead_letters"]) == (3, 1, 1)
    assert figures["posts"] == figures["expected_posts"] == figures["verified"]
