"""Workspace settings over HTTP: read them, and (admins) set them.

Service modules are imported inside the views: every Lambda of the app imports this
module, and only the API's calls need the store behind it.
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from functions.api.routing import Call, route

bp = Blueprint(__name__)


@route(bp, "/settings", permission="settings:read", answer="WorkspaceSettings")
def settings_show(call: Call) -> Any:
    """Read the workspace settings.

    `default_region` is the country (ISO 3166 two-letter code) of phone numbers written
    without a country code: imports without `region=` and contacts without a `country` read
    them with it. null when unset.
    """
    from functions.store.settings import get_settings, settings_json

    return settings_json(get_settings())


@route(
    bp,
    "/settings",
    method="PUT",
    permission="settings:write",
    body="WorkspaceSettingsBody",
    body_required=False,
    errors=(400, 409),
    answer="WorkspaceSettings",
)
def settings_replace(call: Call) -> Any:
    """Set the workspace settings.

    The body holds every setting; one left out or null is unset. A value that is not what
    the setting holds (a country code that does not exist) is a 400 naming it.
    """
    from functions.store.settings import settings_json, update_settings

    settings = update_settings(call.body.model_dump(), by=call.principal.actor)
    return settings_json(settings)
