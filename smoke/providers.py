"""make smoke: Retell and Twilio, live, through this code's own adapters, with your credentials.

    python -m smoke.providers          (make smoke; SMOKE_STACK=<stack>|local, SMOKE_BUY=1: docs/smoke.md)

Each part runs when its credentials are there, and is skipped otherwise:
  - Retell (RETELL_API_KEY): an LLM and an agent carrying a tag of their own, published, read back and
    compared with what was sent, then deleted.
  - Twilio's test credentials (TWILIO_TEST_ACCOUNT_SID, TWILIO_TEST_AUTH_TOKEN; free): the magic numbers
    bought, +15005550006 parsed into an OwnedNumber with our VoiceUrl and FriendlyName, +15005550000
    raising NumberUnavailable (21422).
  - With the live account (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN) and SMOKE_BUY=1 only: one number of
    the deployment's country and type searched, bought (its monthly price said first), its VoiceUrl
    checked, released at once.
Then nothing carrying the smoke's tag may be left. No credentials at all: says what it needs, exits 0.
"""

from __future__ import annotations

import sys

from bson import ObjectId

from local.fakes.twilio_test_credentials import MAGIC_AVAILABLE, MAGIC_UNAVAILABLE
from smoke.runner import Saga, Undo, check
from smoke.targets import Target, load_target
from voice_agents.core.countries import NumberOrder, refuse_unoffered
from voice_agents.core.errors import NumberUnavailable
from voice_agents.core.settings import Settings
from voice_agents.core.tags import agent_tag, llm_tag, retell_agent_name, tag_for, webhook_url
from voice_agents.flows.agents.provisioning import INITIAL_AGENT_VERSION
from voice_agents.models.agents import DEFAULT_LANGUAGE, DEFAULT_VOICE_ID
from voice_agents.providers.retell import RetellClient
from voice_agents.providers.twilio import OwnedNumber, TwilioNumbers

TITLE = "make smoke"
PROMPT = "You are the smoke test of a voice agents deployment. Say goodbye."
GREETING = "This is a smoke test."
# A number bought with test credentials still needs a VoiceUrl: one that names the smoke, never called.
NO_WEBHOOK_BASE = "https://smoke.invalid"
# Twilio's magic numbers are US numbers, bought with no bundle or address.
TEST_ORDER = NumberOrder("US", "local")
AGENT, LLM = "agent", "LLM"
NEEDS = """make smoke: skipped (no credentials). It reads, each part optional:
  RETELL_API_KEY [RETELL_BASE_URL]                    Retell: create, publish, read back, delete
  TWILIO_TEST_ACCOUNT_SID TWILIO_TEST_AUTH_TOKEN      Twilio's test credentials: free magic numbers
  TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN + SMOKE_BUY=1  buy one real number and release it (costs money)
  SMOKE_STACK=<stack name>                            read them from the deployed stack's secret
  SMOKE_STACK=local                                   the local stack's fakes (make stack)"""


class ProvidersSmoke:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.runtime = target.runtime()
        self.settings: Settings = self.runtime.settings()
        # An agent id of its own: the tag is the deployment's, so the operator's listings see it.
        self.smoke_id = ObjectId()
        self.tag = tag_for(self.settings.resource_tag, self.smoke_id)
        base = self.settings.webhook_base_url or NO_WEBHOOK_BASE
        self.voice_url = webhook_url(base, self.smoke_id)
        env = target.environment
        self.test_pair = (env.get("TWILIO_TEST_ACCOUNT_SID", ""), env.get("TWILIO_TEST_AUTH_TOKEN", ""))
        self.has_retell = bool(self.settings.retell_api_key)
        self.has_test_pair = all(self.test_pair)
        self.has_live = bool(self.settings.twilio_account_sid and self.settings.twilio_auth_token)
        self.buys = self.has_live and env.get("SMOKE_BUY") == "1"

    def __call__(self, saga: Saga) -> None:
        saga.say(f"{TITLE} on {self.target.name}: tag {self.tag}")
        if self.has_retell:
            self.retell(saga, self.runtime.retell())
        else:
            saga.skip("retell", "set RETELL_API_KEY")
        if self.has_test_pair:
            self.twilio_test_credentials(saga)
        else:
            saga.skip("twilio test credentials", "set TWILIO_TEST_ACCOUNT_SID and TWILIO_TEST_AUTH_TOKEN")
        if self.buys:
            self.twilio_live(saga, self.runtime.twilio())
        else:
            saga.skip("twilio live purchase", "set SMOKE_BUY=1 with TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN")
        if self.has_retell or self.buys:
            saga.step(
                "nothing left", self.nothing_left, describe=lambda how: f"none tagged {self.tag} ({how})"
            )

    # --- Retell -------------------------------------------------------------------------------------

    def retell(self, saga: Saga, retell: RetellClient) -> None:
        name = retell_agent_name(self.tag, "smoke test (make smoke)")
        # Each undo is registered before its create: a create whose answer was lost is found by its tag.
        saga.register(
            "retell: create LLM",
            Undo(
                "delete Retell LLM", lambda: self.delete_tagged(retell, LLM), f"Retell LLMs tagged {self.tag}"
            ),
        )
        llm_id = saga.step(
            "retell: create LLM",
            lambda: retell.create_llm(prompt=PROMPT, begin_message=GREETING, tag=self.tag),
            describe=str,
            undo=lambda llm: Undo("delete Retell LLM", lambda: retell.delete_llm(llm), f"Retell LLM {llm}"),
        )
        saga.register(
            "retell: create agent",
            Undo(
                "delete Retell agent",
                lambda: self.delete_tagged(retell, AGENT),
                f"Retell agents tagged {self.tag}",
            ),
        )
        agent_id = saga.step(
            "retell: create agent",
            lambda: retell.create_agent(
                llm_id=llm_id, voice_id=DEFAULT_VOICE_ID, language=DEFAULT_LANGUAGE, agent_name=name
            ),
            describe=str,
            undo=lambda agent: Undo(
                "delete Retell agent", lambda: retell.delete_agent(agent), f"Retell agent {agent}"
            ),
        )
        saga.step("retell: publish", lambda: retell.publish_agent_version(agent_id, INITIAL_AGENT_VERSION))

        def read_back() -> str:
            agent = retell.get_agent(agent_id, INITIAL_AGENT_VERSION)
            llm = retell.get_llm(llm_id)
            sent_agent = {"agent_name": name, "voice_id": DEFAULT_VOICE_ID, "language": DEFAULT_LANGUAGE}
            for field, value in sent_agent.items():
                check(agent.get(field) == value, f"agent {field} reads {agent.get(field)!r}, sent {value!r}")
            check((agent.get("response_engine") or {}).get("llm_id") == llm_id, "the agent lost its LLM")
            check(agent.get("is_published") is True, "the agent's version is not published")
            check(agent_tag(agent) == self.tag, "the agent does not carry the smoke's tag")
            check(llm.get("general_prompt") == PROMPT, "the LLM's prompt differs from the one sent")
            check(llm.get("begin_message") == GREETING, "the LLM's begin message differs from the one sent")
            check(llm_tag(llm) == self.tag, "the LLM does not carry the smoke's tag")
            return "name, voice, language, LLM, prompt, tag as sent; published"

        saga.step("retell: read back", read_back, describe=str)
        saga.step(
            "retell: delete agent",
            lambda: check(retell.delete_agent(agent_id), "the agent was already gone"),
            settles="retell: create agent",
        )
        saga.step(
            "retell: delete LLM",
            lambda: check(retell.delete_llm(llm_id), "the LLM was already gone"),
            settles="retell: create LLM",
        )

    def tagged(self, retell: RetellClient, kind: str) -> list[str]:
        """The ids of the Retell agents or LLMs (``kind``) carrying the smoke's tag."""
        if kind == AGENT:
            return [str(a["agent_id"]) for a in retell.list_agents() if agent_tag(a) == self.tag]
        return [str(llm["llm_id"]) for llm in retell.list_llms() if llm_tag(llm) == self.tag]

    def delete_tagged(self, retell: RetellClient, kind: str) -> int:
        found = self.tagged(retell, kind)
        for each in found:
            retell.delete_agent(each) if kind == AGENT else retell.delete_llm(each)
        return len(found)

    # --- Twilio -------------------------------------------------------------------------------------

    def twilio_test_credentials(self, saga: Saga) -> None:
        sid, token = self.test_pair
        # The test account has no bundle or address of the live one: a purchase naming them is refused.
        numbers = self.target.runtime(
            TWILIO_ACCOUNT_SID=sid, TWILIO_AUTH_TOKEN=token, TWILIO_BUNDLE_SID="", TWILIO_ADDRESS_SID=""
        ).twilio()
        saga.step(
            f"twilio test: buy {MAGIC_AVAILABLE}",
            lambda: self.buy(numbers, MAGIC_AVAILABLE, TEST_ORDER),
            describe=lambda owned: f"{owned.sid}, VoiceUrl and FriendlyName as sent",
        )

        def unavailable() -> str:
            try:
                numbers.buy(MAGIC_UNAVAILABLE, order=TEST_ORDER, voice_url=self.voice_url, tag=self.tag)
            except NumberUnavailable as refused:
                return f"NumberUnavailable ({refused.code})"
            raise AssertionError(f"{MAGIC_UNAVAILABLE} was sold: Twilio should answer 21422")

        saga.step(f"twilio test: buy {MAGIC_UNAVAILABLE}", unavailable, describe=str)
        saga.note(
            "numbers bought with Twilio's test credentials are not real and cannot be released: "
            "nothing to release"
        )

    def twilio_live(self, saga: Saga, numbers: TwilioNumbers) -> None:
        settings = self.settings
        order = settings.number_order(*settings.default_pair)
        kind = f"{order.country} {order.number_type}"
        cents = settings.number_monthly_cents(order.country, order.number_type)
        saga.say(
            f"SMOKE_BUY=1: buying one {kind} number on the live Twilio account. Estimated cost: "
            f"{cents / 100:.2f} USD a month ({cents} cents: the pair's monthlyCents in TWILIO_REGULATIONS, "
            "else TWILIO_NUMBER_MONTHLY_CENTS; an estimate: Twilio bills the first month when the number "
            "is bought); it is released at once."
        )
        saga.step(
            "twilio: regulations",
            lambda: refuse_unoffered(order, settings.number_options()),
            describe=lambda _: f"{kind}: its bundle and address are configured where Twilio needs them",
        )
        [candidate] = saga.step("twilio: search", lambda: numbers.search(order, limit=1), describe=", ".join)
        # Registered before the purchase: a purchase whose answer was lost still carries the tag.
        saga.register(
            "twilio: buy",
            Undo(
                "release number",
                lambda: self.release_tagged(numbers),
                f"a Twilio number with FriendlyName {self.tag} (Twilio console, or "
                "python -m voice_agents.repair.operate unaccounted)",
            ),
        )
        owned = saga.step(
            "twilio: buy",
            lambda: self.buy(numbers, candidate, order),
            describe=lambda owned: f"{owned.phone_number} {owned.sid}",
        )

        def voice_url_read_back() -> str:
            [found] = numbers.find_by_tag(self.tag)
            check(found.sid == owned.sid, f"the tag names {found.sid}, bought {owned.sid}")
            check(found.voice_url == self.voice_url, f"VoiceUrl reads {found.voice_url}")
            return str(found.voice_url)

        saga.step("twilio: check VoiceUrl", voice_url_read_back, describe=str)
        saga.step(
            "twilio: release",
            lambda: check(numbers.release(owned.sid), "the number was already released"),
            settles="twilio: buy",
        )

    def buy(self, numbers: TwilioNumbers, phone_number: str, order: NumberOrder) -> OwnedNumber:
        """Buy with the smoke's VoiceUrl and tag, and check Twilio's answer carries them."""
        owned = numbers.buy(phone_number, order=order, voice_url=self.voice_url, tag=self.tag)
        return self.expect_ours(owned)

    def expect_ours(self, owned: OwnedNumber) -> OwnedNumber:
        check(owned.voice_url == self.voice_url, f"VoiceUrl reads {owned.voice_url}, sent {self.voice_url}")
        check(owned.friendly_name == self.tag, f"FriendlyName reads {owned.friendly_name}, sent {self.tag}")
        return owned

    def release_tagged(self, numbers: TwilioNumbers) -> int:
        found = numbers.find_by_tag(self.tag)
        for number in found:
            numbers.release(number.sid)
        return len(found)

    # --- what is left -------------------------------------------------------------------------------

    def nothing_left(self) -> str:
        """Nothing carrying the smoke's tag: by the operator's unaccounted listing when there is a
        database (and both providers), else by listing the providers by the tag."""
        if self.settings.mongodb_uri and self.has_retell and self.has_live:
            from voice_agents.repair.operate import unaccounted

            listed = unaccounted(self.runtime.services())
            found = [f"{item.resource} {item.resource_id}" for item in listed if item.tag == self.tag]
            check(not found, "left: " + ", ".join(found))
            return "the operator's unaccounted listing"
        left: list[str] = []
        if self.has_live:
            left += [f"number {n.sid}" for n in self.runtime.twilio().find_by_tag(self.tag)]
        if self.has_retell:
            retell = self.runtime.retell()
            left += [f"Retell {kind} {each}" for kind in (AGENT, LLM) for each in self.tagged(retell, kind)]
        check(not left, "left: " + ", ".join(left))
        return "listed by the smoke's tag: no database configured"


def main() -> int:
    smoke = ProvidersSmoke(load_target())
    if not (smoke.has_retell or smoke.has_test_pair or smoke.buys):
        print(NEEDS)
        return 0
    return Saga(TITLE).run(smoke)


if __name__ == "__main__":
    sys.exit(main())
