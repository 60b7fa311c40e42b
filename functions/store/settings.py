"""Workspace settings: what a person sets once for the whole CRM rather than on every
call. One item in the settings table, changed under its version check.

`default_region` is the country (ISO 3166 two-letter code) of phone numbers written the
national way, without a country code: an import without --region / `region=` uses it, and
so does a contact written over the API without a `country`.
"""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import PutError

from functions.errors import ConflictRetriesExhausted, InvalidRecord
from functions.store import normalize
from functions.store.contacts import UPDATE_RETRIES, backoff, cancelled_by_condition, now
from functions.store.models import WorkspaceSettings

KEY = "workspace"  # the one item: a stage is one workspace
SETTINGS = ("default_region",)  # what a person may set, in the order they are shown


def get_settings() -> WorkspaceSettings:
    """The workspace's settings; every one unset (None) until someone sets it."""
    try:
        return WorkspaceSettings.get(KEY, consistent_read=True)
    except WorkspaceSettings.DoesNotExist:
        return WorkspaceSettings(KEY)


def default_region() -> str | None:
    """The country of phone numbers written without a country code, if one is set."""
    return get_settings().default_region


def update_settings(changes: dict[str, Any], *, by: str | None = None) -> WorkspaceSettings:
    """Set the settings named in `changes` (None unsets one) and keep the others.
    InvalidRecord names a setting that does not exist or a value it cannot hold."""
    checked = {name: checked_setting(name, value) for name, value in changes.items()}
    for attempt in range(UPDATE_RETRIES):
        settings = get_settings()
        for name, value in checked.items():
            setattr(settings, name, value)
        settings.updated_at, settings.updated_by = now(), by
        try:
            settings.save()  # version check: two admins saving at once both land
        except PutError as exc:
            if not cancelled_by_condition(exc):
                raise
            backoff(attempt)
            continue
        return settings
    raise ConflictRetriesExhausted("the settings kept changing; try again")


def checked_setting(name: str, value: Any) -> Any:
    """`value` as setting `name` stores it; InvalidRecord naming the setting otherwise."""
    if name not in SETTINGS:
        raise InvalidRecord(f"'{name}' is not a setting; settings: {', '.join(SETTINGS)}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return normalize.region_code(str(value))
    except InvalidRecord as exc:
        raise InvalidRecord(f"{name}: {exc}") from None


def settings_json(settings: WorkspaceSettings) -> dict[str, Any]:
    """The settings as the API answers and the command line prints them."""
    return {
        "default_region": settings.default_region,
        "updated_at": settings.updated_at.isoformat() if settings.updated_at else None,
        "updated_by": settings.updated_by,
    }
