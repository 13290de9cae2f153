"""The sample events of events/: the folder, reading one, and the agent and owner they name.

Standard library only: local.invoke reads the events, and it stays importable before any third-party
module (the cold-start benchmark imports it as Lambda's bootstrap). Signing them is local.signing's.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"
# The agent and owner events/*.json name.
EVENTS_AGENT_ID = "6740a1b2c3d4e5f6a7b8c9d0"
EVENTS_OWNER = "user-1234-owner"


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    """A sample event from events/, with top-level keys replaced (e.g. body=..., pathParameters=...)."""
    event = json.loads((EVENTS / name).read_text())
    event.update(copy.deepcopy(overrides))
    return event
