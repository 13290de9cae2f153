"""What create and update share to be idempotent with an ``Idempotency-Key``: Powertools'
idempotent function on the MongoDB persistence layer, keyed per owner, kept a day, and its errors
answered as the API's (docs/architecture.md, "Idempotency"). Imported only by those two flows, so
the read and delete paths never load Powertools' idempotency utility or boto3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)

from voice_agents import runtime
from voice_agents.core.errors import IdempotencyKeyReused, RequestInProgress, StoreError
from voice_agents.data.database import IDEMPOTENCY
from voice_agents.data.idempotency import MongoPersistenceLayer

IDEMPOTENCY_TTL_SECONDS = 24 * 3600


class LambdaContextLike(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def keyed_per_owner(validated_on: str) -> IdempotencyConfig:
    """A key is the owner's: ``[ownerId, idempotencyKey]``; a replay must match on ``validated_on``
    (a JMESPath into the command)."""
    return IdempotencyConfig(
        event_key_jmespath="[ownerId, idempotencyKey]",
        payload_validation_jmespath=validated_on,
        expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
        raise_on_no_idempotency_key=True,
    )


def persistence() -> MongoPersistenceLayer:
    """A persistence layer of its own for each idempotent function: Powertools configures one for
    the first function that uses it and never again."""
    return MongoPersistenceLayer(lambda: runtime.store().database[IDEMPOTENCY])


@contextmanager
def answered_as_domain_errors(reused: str) -> Iterator[None]:
    """Powertools' idempotency errors as the API answers them; ``reused`` says what a reused key
    was used with before."""
    try:
        yield
    except IdempotencyValidationError as exc:
        raise IdempotencyKeyReused(f"this Idempotency-Key was already used with {reused}") from exc
    except IdempotencyAlreadyInProgressError as exc:
        raise RequestInProgress("a request with this Idempotency-Key is still in progress") from exc
    except IdempotencyPersistenceLayerError as exc:
        raise StoreError(f"idempotency store failed: {exc}") from exc
