"""Named errors of the infra package."""


class InfraError(Exception):
    """Base of every error raised by infra."""


class MotoPatchError(InfraError):
    """The installed moto is not the version our patches were written and tested against."""
