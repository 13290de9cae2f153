"""The operator's kill switch for creates: the SSM parameter named by CREATION_PAUSED_PARAMETER holds
"true" (every create is refused before anything is bought) or "false". The spending alarm turns it
on (``flows/agents/spending.pause_for_alarm``); an operator turns it off (``operate creation resume``).

Each process reads it at most once a minute (``MAX_AGE_SECONDS``), as it keeps its settings between
reads: a flip reaches every create within a minute. A parameter that does not exist reads as "false";
one that cannot be read, or holds anything but true or false, is a ConfigurationError (nothing is
created) unless an earlier value is in hand, which is kept. boto3 is imported on the first read, so
only the functions that read or flip the switch pay for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from voice_agents.core.errors import ConfigurationError
from voice_agents.core.observability import logger

SETTING = "CREATION_PAUSED_PARAMETER"
MAX_AGE_SECONDS = 60.0
PAUSED, RUNNING = "true", "false"


class CreationSwitch:
    def __init__(self, name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._paused: bool | None = None  # None: never read
        self._read_at = 0.0
        self._client: Any = None

    def paused(self) -> bool:
        """Whether creates are paused, read again once the value in hand is MAX_AGE_SECONDS old."""
        with self._lock:
            if self._paused is None or self._clock() - self._read_at >= MAX_AGE_SECONDS:
                self._refresh()
            assert self._paused is not None
            return self._paused

    def set(self, paused: bool) -> None:
        """Turn creates off (True) or back on (False), for every process within MAX_AGE_SECONDS."""
        value = PAUSED if paused else RUNNING
        try:
            self._ssm().put_parameter(Name=self.name, Value=value, Type="String", Overwrite=True)
        except Exception as exc:
            raise ConfigurationError(f"cannot write the SSM parameter {self.name}: {exc}", SETTING) from exc
        with self._lock:
            self._paused, self._read_at = paused, self._clock()
        logger.warning("creation switch set", parameter=self.name, paused=paused)

    def _refresh(self) -> None:
        self._read_at = self._clock()  # failures too: SSM is not asked again at every create
        try:
            self._paused = self._read()
        except ConfigurationError as exc:
            if self._paused is None:
                raise
            logger.warning("could not re-read the creation switch; keeping its value", error=str(exc))

    def _read(self) -> bool:
        try:
            answer = self._ssm().get_parameter(Name=self.name)
        except Exception as exc:
            if _error_code(exc) == "ParameterNotFound":
                logger.warning("no creation switch parameter: creates go on", parameter=self.name)
                return False
            raise ConfigurationError(f"cannot read the SSM parameter {self.name}: {exc}", SETTING) from exc
        text = str(answer["Parameter"]["Value"]).strip().lower()
        if text not in (PAUSED, RUNNING):
            raise ConfigurationError(
                f"the SSM parameter {self.name} must hold true or false, not {text[:20]!r}", SETTING
            )
        return text == PAUSED

    def _ssm(self) -> Any:
        if self._client is None:
            # Short timeouts and two attempts: a slow SSM must not run a create out of time.
            import boto3
            from botocore.config import Config

            timeouts = Config(connect_timeout=1, read_timeout=2, retries={"total_max_attempts": 2})
            self._client = boto3.client("ssm", config=timeouts)
        return self._client


def _error_code(exc: Exception) -> str | None:
    """An AWS error's code (botocore's ClientError carries it in ``response``)."""
    response = getattr(exc, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
