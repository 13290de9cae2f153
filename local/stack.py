"""The local stack: what `sam local` would give, without Docker or a cloud account.

FerretDB (or the MONGODB_URI you give), the fake Retell and Twilio servers, SQS and SES (moto's server,
local/aws.py) on loopback, and the environment the Lambda handlers read. Used by the tests' fixtures
and by the demo.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

from local import ferretdb
from local.aws import LocalAws, start_local_aws
from local.fakes import FakeRetell, FakeTwilio

RETELL_API_KEY = "key_local_retell"
TWILIO_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_AUTH_TOKEN = "local-auth-token"
WEBHOOK_BASE_URL = (
    "https://abc123.execute-api.ap-southeast-2.amazonaws.com/hooks"  # WebhookApi's stage: hooks
)


def _sid(prefix: str, number: int) -> str:
    return f"{prefix}{number:032x}"


# The countries and number types the local stack offers (docs/countries.md): AU mobile is the default
# pair (TWILIO_BUNDLE_SID / TWILIO_ADDRESS_SID), the others TWILIO_REGULATIONS' entries. Each pair that
# needs a bundle or an address gets an approved one of the fake Twilio's registry.
LOCAL_ADDRESSES = {country: _sid("AD", index) for index, country in enumerate(("AU", "NZ", "GB"), 1)}
LOCAL_BUNDLES = {
    pair: _sid("BU", index)
    for index, pair in enumerate(
        (("AU", "mobile"), ("AU", "local"), ("NZ", "mobile"), ("GB", "mobile"), ("GB", "local")), 1
    )
}
LOCAL_UNREGULATED = (("US", "local"), ("US", "tollfree"), ("CA", "local"))
_BUNDLE_TYPES = {"mobile": "mobile", "local": "local", "tollfree": "toll-free"}


def local_regulations() -> dict[str, dict[str, str]]:
    """TWILIO_REGULATIONS of the local stack: every offered pair but the default one."""
    regulated = {
        f"{country}/{kind}": {"bundleSid": bundle, "addressSid": LOCAL_ADDRESSES[country]}
        for (country, kind), bundle in LOCAL_BUNDLES.items()
        if (country, kind) != ("AU", "mobile")
    }
    return regulated | {f"{country}/{kind}": {} for country, kind in LOCAL_UNREGULATED}


def seed_fake_regulatory(twilio: FakeTwilio) -> None:
    """The fake Twilio account's approved bundles and addresses, and its rules switched on."""
    twilio.seed_regulatory(
        [
            {"sid": sid, "iso_country": country, "number_type": _BUNDLE_TYPES[kind]}
            for (country, kind), sid in LOCAL_BUNDLES.items()
        ],
        [{"sid": sid, "iso_country": country} for country, sid in LOCAL_ADDRESSES.items()],
    )


@dataclass(frozen=True)
class StackPorts:
    """Ports on 127.0.0.1; 0 is a free one."""

    api: int = 0
    mongodb: int = 0
    retell: int = 0
    twilio: int = 0
    aws: int = 0  # SQS and SES


# make stack's ports: env.json names them, so `sam local` containers reach the stack there.
FIXED_PORTS = StackPorts(api=3000, mongodb=27017, retell=8081, twilio=8082, aws=8083)


@dataclass
class LocalStack:
    mongodb_uri: str
    retell: FakeRetell
    twilio: FakeTwilio
    aws: LocalAws
    database: str = "voice_agents"

    def environment(self) -> dict[str, str]:
        """The variables of the README's configuration table, pointing at this stack."""
        providers = stack_environment(
            self.mongodb_uri, self.retell.base_url, self.twilio.base_url, self.database
        )
        return providers | self.aws.environment()

    def reset(self) -> None:
        self.retell.reset()
        self.twilio.reset()
        self.aws.reset()


def stack_environment(
    mongodb_uri: str, retell_url: str, twilio_url: str, database: str = "voice_agents"
) -> dict[str, str]:
    """What the functions need to reach a local stack at these addresses."""
    return {
        "MONGODB_URI": mongodb_uri,
        "MONGODB_DATABASE": database,
        "RETELL_API_KEY": RETELL_API_KEY,
        "RETELL_BASE_URL": retell_url,
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_BASE_URL": twilio_url,
        "PHONE_NUMBER_COUNTRY": "AU",
        "PHONE_NUMBER_TYPE": "mobile",
        "TWILIO_BUNDLE_SID": LOCAL_BUNDLES[("AU", "mobile")],
        "TWILIO_ADDRESS_SID": LOCAL_ADDRESSES["AU"],
        "TWILIO_REGULATIONS": json.dumps(local_regulations(), separators=(",", ":")),
        "WEBHOOK_BASE_URL": WEBHOOK_BASE_URL,
        "RESOURCE_TAG": "va-local",
        "POWERTOOLS_SERVICE_NAME": "voice-agents",
        "POWERTOOLS_METRICS_NAMESPACE": "VoiceAgents",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


@contextmanager
def local_stack(ports: StackPorts | None = None) -> Iterator[LocalStack]:
    """Start everything on 127.0.0.1; a MONGODB_URI in the environment (a real mongod, Atlas) wins."""
    ports = ports or StackPorts()
    given_uri = os.environ.get("MONGODB_URI")
    # moto takes seconds to import: it starts while FerretDB does.
    starting_aws = ThreadPoolExecutor(max_workers=1, thread_name_prefix="local-aws")
    aws_started = starting_aws.submit(start_local_aws, port=ports.aws)
    starting_aws.shutdown(wait=False)
    server = None if given_uri else ferretdb.start(port=ports.mongodb)
    # On a server you gave, use a database of our own so nothing of yours is touched.
    database = f"voice_agents_local_{os.getpid()}" if given_uri else "voice_agents"
    retell = FakeRetell(api_key=RETELL_API_KEY, port=ports.retell).start()
    twilio = FakeTwilio(
        account_sid=TWILIO_ACCOUNT_SID, auth_token=TWILIO_AUTH_TOKEN, port=ports.twilio
    ).start()
    twilio.connect_sip_peer(retell)  # a played call's <Sip> to Retell reaches this fake Retell
    seed_fake_regulatory(twilio)
    # Each country's purchase rules, as `make stack` and the demo meet them; the tests' reset() turns
    # them off again (tests switch them on where they exercise them: configure(regulations=True)).
    twilio.configure(regulations=True)
    aws = aws_started.result()
    try:
        uri = given_uri or (server.uri if server else "")
        yield LocalStack(mongodb_uri=uri, retell=retell, twilio=twilio, aws=aws, database=database)
    finally:
        aws.stop()
        retell.stop()
        twilio.stop()
        if server is not None:
            server.stop()
