"""Calling the HTTP API in tests: chalice.test.Client on the app, keys issued per role."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalice.test import Client

from functions.app import app
from functions.auth import issue_key

USERS = {"sales_rep": "u_rep", "marketer": "u_mia", "admin": "u_ana", "read_only": "u_rod"}


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]

    @property
    def error(self) -> dict[str, Any]:
        return self.body["error"]


class Api:
    """The app over chalice's local gateway; `key(role)` issues a key for that role."""

    def __init__(self) -> None:
        self.client = Client(app)

    def key(self, role: str = "admin", **grant: Any) -> str:
        if role == "integration":
            grant.setdefault("flows", ["welcome"])
            grant.setdefault("events", True)
        else:
            grant.setdefault("user_id", USERS[role])
        return issue_key(f"{role} key", role, **grant)[1]

    def call(
        self,
        method: str,
        path: str,
        key: str | None = None,
        body: Any = None,
        *,
        raw: str | bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Content-Type": content_type, **(headers or {})}
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body))
        response = self.client.http.request(method, path, headers=sent, body=payload)
        text = response.body.decode("utf-8") if response.body else ""
        return Answer(response.status_code, json.loads(text) if text else None, response.headers)

    def get(self, path: str, key: str | None = None, **kw: Any) -> Answer:
        return self.call("GET", path, key, **kw)

    def post(self, path: str, key: str | None = None, body: Any = None, **kw: Any) -> Answer:
        return self.call("POST", path, key, body, **kw)

    def patch(self, path: str, key: str | None = None, body: Any = None, **kw: Any) -> Answer:
        return self.call("PATCH", path, key, body, **kw)

    def put(self, path: str, key: str | None = None, body: Any = None, **kw: Any) -> Answer:
        return self.call("PUT", path, key, body, **kw)

    def delete(self, path: str, key: str | None = None, **kw: Any) -> Answer:
        return self.call("DELETE", path, key, **kw)
