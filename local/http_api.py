"""The local HTTP API's command line: what `sam local start-api` would give, without Docker.

    python -m local.http_api [--port N]      (or: make api; make stack adds --fixed-ports --seed-events)

Starts the local stack (FerretDB, fake Retell, fake Twilio, SQS and SES) and serves template.yaml's
routes on 127.0.0.1 with local.api.server.LocalHttpApi (what it does like API Gateway, and what not:
local/api/); the notifications queue's consumer runs from a thread that plays Lambda's SQS event
source (local/aws.py).
LOCAL ONLY: JWT signatures are NOT verified; never expose the server beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from local.api.dashboard import DASHBOARD_DIR
from local.api.server import LocalHttpApi
from local.api.tokens import LOCAL_USER, NOT_VERIFIED_WARNING, local_token
from local.template import TEMPLATE, HttpRoute

if TYPE_CHECKING:
    from local.stack import LocalStack


def _describe(route: HttpRoute) -> str:
    scopes = " ".join(route.authorization_scopes) or "any scope"
    auth = (
        f"JWT ({route.authorizer}, {scopes}, NOT verified locally)" if route.authorizer else "no authorizer"
    )
    return f"  {route.method:<7}{route.path:<34}{route.logical_id:<24}{route.timeout_seconds:>3} s  {auth}"


def _without_password(uri: str) -> str:
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # unwind the `with` blocks, so FerretDB and the fakes stop too


def _print_usage(stack: LocalStack, api: LocalHttpApi, dashboard: Path | None, dashboard_dir: Path) -> None:
    """What is served where, and how to try it."""
    token = local_token(LOCAL_USER)
    print(f"\nLocal HTTP API on {api.base_url}  (routes from {TEMPLATE.name}, payload v2)")
    for route in api.routes:
        print(_describe(route))
    mongodb = _without_password(stack.mongodb_uri)
    print(f"\n  MongoDB {mongodb}  Retell {stack.retell.base_url}  Twilio {stack.twilio.base_url}")
    print(
        f"  SQS and SES {stack.aws.endpoint} (moto): DeliverNotificationsFunction polls "
        f"{stack.aws.queue_url}; webhooks may point at 127.0.0.1 only"
    )
    if dashboard is not None:
        print(
            f"\n  Dashboard  {api.base_url}/  (signed in as {LOCAL_USER}; "
            f"{api.base_url}/?user=<sub> as another owner)"
        )
    else:
        print(f"\n  Dashboard  not built ({dashboard_dir} has no index.html): run make web")
    print(f"\n{NOT_VERIFIED_WARNING}")
    print("\nTry it (a local, unsigned token for sub=local-user):")
    print(f"  TOKEN={token}")
    print(
        f'  curl -s -X POST {api.base_url}/api/agents -H "Authorization: Bearer $TOKEN" '
        "-H 'Content-Type: application/json' "
        '-d \'{"name": "Local agent", "prompt": "You are a friendly receptionist."}\''
    )
    print(f'  curl -s {api.base_url}/api/agents -H "Authorization: Bearer $TOKEN"')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m local.http_api",
        description="Serve template.yaml's HTTP API on 127.0.0.1 against the local stack (no Docker).",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--dashboard",
        type=Path,
        default=DASHBOARD_DIR,
        help="the built dashboard to serve at / (default: web/dist, built by make web)",
    )
    parser.add_argument(
        "--ready-file",
        type=Path,
        help="once serving, write {apiUrl, retellUrl, twilioUrl, webhookBaseUrl, environment} as JSON "
        "here (make invoke, make call and make smoke read it; removed on exit)",
    )
    parser.add_argument(
        "--fixed-ports",
        action="store_true",
        help="FerretDB, fake Retell and fake Twilio on the ports env.json names (27017, 8081, 8082)",
    )
    parser.add_argument(
        "--seed-events",
        action="store_true",
        help="create the agent events/*.json name, and keep their webhook URL, so every event works",
    )
    args = parser.parse_args(argv)
    dashboard = args.dashboard if (args.dashboard / "index.html").is_file() else None

    from local.aws import consumer_event_source
    from local.events import seed_events_agent
    from local.fakes.twilio_test_credentials import test_credentials_environment
    from local.stack import FIXED_PORTS, WEBHOOK_BASE_URL, local_stack
    from voice_agents import runtime

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # EMF metric lines would drown the access log; the handlers' JSON logs stay.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    print(
        "Starting the local stack (FerretDB, fake Retell, fake Twilio, SQS, SES) on 127.0.0.1 ...", flush=True
    )
    with (
        local_stack(FIXED_PORTS if args.fixed_ports else None) as stack,
        LocalHttpApi(port=args.port, access_log=sys.stderr, dashboard=dashboard) as api,
        consumer_event_source(stack.aws),
    ):
        os.environ.update(stack.environment())
        # The webhook URL given to Twilio numbers is this API, so signatures over it validate here;
        # with the events' agent, the URL the events name (twilio_webhook.json is signed over it).
        webhook_base_url = WEBHOOK_BASE_URL if args.seed_events else api.base_url
        os.environ["WEBHOOK_BASE_URL"] = webhook_base_url
        runtime.reset()
        if args.seed_events:
            seeded = seed_events_agent()
            print(f"Seeded the events' agent {seeded['id']} ({seeded['phoneNumber']}) for user-1234-owner")
        _print_usage(stack, api, dashboard, args.dashboard)
        print("\nCtrl-C to stop.", flush=True)
        if args.ready_file is not None:
            ready = {
                "apiUrl": api.base_url,
                "retellUrl": stack.retell.base_url,
                "twilioUrl": stack.twilio.base_url,
                "webhookBaseUrl": webhook_base_url,
                "environment": {
                    **stack.environment(),
                    "WEBHOOK_BASE_URL": webhook_base_url,
                    **test_credentials_environment(),  # the fake's Twilio test pair, for make smoke
                },
            }
            args.ready_file.parent.mkdir(parents=True, exist_ok=True)
            args.ready_file.write_text(json.dumps(ready))
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            print("\nStopping.", flush=True)
        finally:
            if args.ready_file is not None:
                args.ready_file.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
