"""Named errors of the infra package."""


class InfraError(Exception):
    """Base of every error raised by infra."""


class MotoPatchError(InfraError):
    """The installed moto is not the version our patches were written and tested against."""


class MockNotConfiguredError(InfraError):
    """The active moto mock does not execute state machines (missing config)."""


class UnresolvedPlaceholderError(InfraError):
    """An ASL definition still holds `${Name}` placeholders that nothing substitutes."""


class ExecutionTimeoutError(InfraError):
    """A local execution was still RUNNING when the runner's timeout ran out."""


class SnapshotError(InfraError):
    """A snapshot of the local stack's data cannot be read: damaged, or of another format."""


class StackError(InfraError):
    """The local stack cannot start: a port is taken, the data directory is in use…"""


class FlowSourceError(InfraError):
    """`crmflow run` was given neither a flow file nor the id of a shipped template."""


class PackageError(InfraError):
    """The deployment package could not be built; the message says which step and why."""


class DeployError(InfraError):
    """A deployment to AWS cannot go on: no credentials, a refused change set…"""
