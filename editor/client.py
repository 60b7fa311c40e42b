"""The editor's one way to the CRM: the HTTP API, the same on the local stack and on AWS.

Why the API and not the service layer: the editor then runs against any deployment with
only a URL and a key, every change it makes passes the API's permission checks (a
marketer's key cannot do an admin's work), and it holds no business logic of its own.
What it takes from `flows/` directly is pure: node kinds, validation and compilation,
which it runs on every edit without a round trip.

Settings, from the environment: CRMFLOW_API_URL (default http://127.0.0.1:8000, the local
stack), CRMFLOW_API_KEY, or CRMFLOW_API_KEY_FILE (default .crmflow/api-key, which
`make run` writes).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import urllib3

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_KEY_FILE = ".crmflow/api-key"
TIMEOUT = urllib3.Timeout(connect=3.0, read=60.0)  # a test run of a long flow takes seconds


@dataclass
class ApiError(Exception):
    """A refused or failed call, in the API's own words."""

    status: int
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


class Api:
    """A small client of crmflow's HTTP API (docs/api.md)."""

    def __init__(self, url: str | None = None, key: str | None = None) -> None:
        self.url = (url or os.environ.get("CRMFLOW_API_URL") or DEFAULT_URL).rstrip("/")
        self.key = key if key is not None else _key_from_environment()
        self._http = urllib3.PoolManager(timeout=TIMEOUT, retries=False)

    def call(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        url = self.url + path
        wanted = {k: v for k, v in (query or {}).items() if v is not None}
        if wanted:
            url += "?" + urlencode(wanted)
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        try:
            response = self._http.request(method, url, body=data, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise ApiError(
                0, "Unreachable", f"the CRM API at {self.url} does not answer ({exc})"
            ) from None
        return _answer(response)

    def get(self, path: str, **query: Any) -> Any:
        return self.call("GET", path, query=query)

    def post(self, path: str, body: Any = None, **query: Any) -> Any:
        return self.call("POST", path, body, query=query)

    # --- the calls the pages make ------------------------------------------------------

    def flows(self) -> list[dict[str, Any]]:
        return self.get("/flows")["flows"]

    def flow(self, flow_id: str) -> dict[str, Any]:
        return self.get(f"/flows/{_id(flow_id)}")

    def versions(self, flow_id: str) -> list[dict[str, Any]]:
        return self.get(f"/flows/{_id(flow_id)}/versions")["versions"]

    def version(self, flow_id: str, version: int) -> dict[str, Any]:
        return self.get(f"/flows/{_id(flow_id)}/versions/{int(version)}")

    def save(self, document: dict[str, Any], note: str = "") -> dict[str, Any]:
        return self.post("/flows", {"flow": document, "note": note})

    def publish(self, document: dict[str, Any], note: str = "") -> dict[str, Any]:
        return self.post(f"/flows/{_id(document['id'])}/publish", {"flow": document, "note": note})

    def roll_back(self, flow_id: str, version: int) -> dict[str, Any]:
        """Make an earlier published version live again."""
        return self.post(f"/flows/{_id(flow_id)}/rollback", {"version": int(version)})

    def audit(self, flow_id: str) -> list[dict[str, Any]]:
        """What people did to the flow, newest first, each entry with `said`."""
        return self.get(f"/flows/{_id(flow_id)}/audit")["entries"]

    def publish_preview(self, document: dict[str, Any]) -> dict[str, Any]:
        """What publishing `document` would do (nothing is stored)."""
        return self.post(f"/flows/{_id(document['id'])}/publish-preview", {"flow": document})

    def keep_working_copy(self, document: dict[str, Any]) -> dict[str, Any]:
        """Autosave: the unsaved document, kept apart from the versions."""
        return self.call("PUT", f"/flows/{_id(document['id'])}/working-copy", document)

    def working_copy(self, flow_id: str) -> dict[str, Any] | None:
        """The unsaved changes kept for a flow, or None."""
        try:
            return self.get(f"/flows/{_id(flow_id)}/working-copy")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def discard_working_copy(self, flow_id: str) -> dict[str, Any]:
        return self.call("DELETE", f"/flows/{_id(flow_id)}/working-copy")

    def delete_draft(self, flow_id: str) -> dict[str, Any]:
        return self.call("DELETE", f"/flows/{_id(flow_id)}")

    def test_run(self, document: dict[str, Any], **request: Any) -> dict[str, Any]:
        body = {"flow": document, **{k: v for k, v in request.items() if v is not None}}
        return self.post(f"/flows/{_id(document['id'])}/test-runs", body)

    def send_test_email(
        self, document: dict[str, Any], node_id: str, **request: Any
    ) -> dict[str, Any]:
        """Send one email step, rendered for a contact (`email` of a stored one, or
        `contact` fields of a sample one), to `to` (default: the key's user) as a test."""
        body = {
            "flow": document,
            "node_id": node_id,
            **{k: v for k, v in request.items() if v is not None},
        }
        return self.post(f"/flows/{_id(document['id'])}/test-emails", body)

    def analytics(self, flow_id: str, version: int | None = None) -> dict[str, Any]:
        return self.get(f"/flows/{_id(flow_id)}/analytics", version=version)

    def contacts(self, **search: Any) -> dict[str, Any]:
        """A page of contacts: newest first with no filter, else by one (docs/api.md)."""
        return self.get("/contacts", **search)

    def contact(self, contact_id: str) -> dict[str, Any]:
        return self.get(f"/contacts/{_id(contact_id)}")

    def timeline(self, contact_id: str, limit: int = 50) -> dict[str, Any]:
        return self.get(f"/contacts/{_id(contact_id)}/timeline", limit=limit)

    def contact_flows(self, contact_id: str) -> list[dict[str, Any]]:
        return self.get(f"/contacts/{_id(contact_id)}/enrollments")["enrollments"]

    def contact_deals(self, contact_id: str) -> list[dict[str, Any]]:
        return self.get("/deals", contact_id=contact_id)["deals"]

    def enroll(self, flow_id: str, contact_id: str) -> dict[str, Any]:
        """Start the contact in a published flow; `enrolled: false` with a reason if not."""
        return self.post(f"/flows/{_id(flow_id)}/enrollments", {"contact_id": contact_id})

    def unenroll(self, flow_id: str, contact_id: str) -> dict[str, Any]:
        return self.call("DELETE", f"/flows/{_id(flow_id)}/enrollments/{_id(contact_id)}")

    def segments(self) -> list[dict[str, Any]]:
        """The saved segments, by name."""
        return self.get("/segments")["segments"]

    def preview_segment(self, criteria: dict[str, Any]) -> dict[str, Any]:
        """{"count", "exact", "sample"}: who the filter matches now."""
        return self.post("/segments/preview", {"criteria": criteria})

    def reports(self) -> list[dict[str, Any]]:
        return self.get("/reports")["reports"]

    def report(self, name: str, **query: Any) -> dict[str, Any]:
        return self.get(f"/reports/{_id(name)}", **query)


def _id(value: str) -> str:
    return quote(str(value), safe="")


def _answer(response: Any) -> Any:
    text = response.data.decode("utf-8") if response.data else ""
    if 200 <= response.status < 300:
        content_type = response.headers.get("Content-Type", "")
        return json.loads(text) if text and "json" in content_type else text
    try:
        error = json.loads(text).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    details = {k: v for k, v in error.items() if k not in ("code", "message")}
    message = error.get("message") or f"the API answered {response.status}"
    raise ApiError(response.status, error.get("code", "Error"), message, details)


def _key_from_environment() -> str:
    key = os.environ.get("CRMFLOW_API_KEY", "").strip()
    if key:
        return key
    path = Path(os.environ.get("CRMFLOW_API_KEY_FILE") or DEFAULT_KEY_FILE)
    return path.read_text(encoding="utf-8").strip() if path.exists() else ""
