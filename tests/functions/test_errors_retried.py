"""The compiled Retry covers every transient error the handlers raise. Step Functions
matches error names exactly, so a subclass of Crm.Transient (Http.Retryable, Crm.Conflict…)
is retried only if its own name is listed."""

from __future__ import annotations

from flows.nodes.base import RETRY, TRANSIENT_ERRORS
from functions import errors


def test_every_transient_error_name_is_retried() -> None:
    transient = {
        value.__name__
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.Transient)
    }
    assert transient == set(TRANSIENT_ERRORS)
    [retry] = RETRY
    assert transient <= set(retry["ErrorEquals"])
