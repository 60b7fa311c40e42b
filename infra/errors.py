"""Named errors of the infra package (local stack, packaging, command line)."""

from __future__ import annotations


class InfraError(Exception):
    """Base of every error raised by the infra package."""


class MotoPatchError(InfraError):
    """The installed moto does not match what infra.local.moto_patches was written against."""


class MockNotConfiguredError(InfraError):
    """The active moto mock does not execute state machines (missing config)."""


class UnresolvedPlaceholderError(InfraError):
    """An ASL definition still holds `${Name}` placeholders that nothing substitutes."""


class ExecutionTimeoutError(InfraError):
    """A local execution was still RUNNING when the runner's timeout ran out."""
