"""The flow document: what the editor saves and `crmflow validate` reads.

Node params are kept as plain dicts here; each node kind validates its own params
(flows.validate), so an error can name the exact node and field.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"
NODE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
FLOW_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}$"
DEFAULT_OUTPUT = "next"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Position(_Strict):
    """Where the editor draws the node (pixels)."""

    x: float = 0
    y: float = 0


class Node(_Strict):
    """One step of the flow, or its trigger."""

    id: str = Field(pattern=NODE_ID_PATTERN, description="Unique in the flow; the state's name.")
    kind: str = Field(description="The node kind, e.g. send_email (see docs/nodes.md).")
    label: str = Field("", max_length=200, description="What the marketer calls this step.")
    params: dict[str, Any] = Field(default_factory=dict, description="The kind's parameters.")
    position: Position = Field(default_factory=lambda: Position.model_construct(x=0.0, y=0.0))

    @cached_property
    def params_key(self) -> str:
        """The params as a cache key (flows.memo): equal text, equal params."""
        return repr(self.params)


class Edge(_Strict):
    """A connection from one node's output to another node."""

    source: str = Field(alias="from", description="Id of the node the edge leaves.")
    to: str = Field(description="Id of the node the edge enters.")
    output: str = Field(
        DEFAULT_OUTPUT,
        description="Which output it leaves by: yes/no, a case or variant name, "
        "happened/timed_out, error; 'next' for single-output nodes.",
    )


class Settings(_Strict):
    """Flow-wide behaviour."""

    allow_reenrollment: bool = Field(
        False, description="Let a contact enter again after leaving (otherwise once per contact)."
    )


class Flow(_Strict):
    """A CRM workflow: one trigger, steps, and the edges between them."""

    schema_version: Literal["1.0"] = Field(description="Version of this document format.")
    id: str = Field(pattern=FLOW_ID_PATTERN, description="Lowercase letters, digits and -.")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=5000)
    trigger: Node = Field(description="What enrolls a contact; a node of a trigger kind.")
    nodes: list[Node] = Field(default_factory=list, max_length=1000)
    edges: list[Edge] = Field(default_factory=list, max_length=3000)
    settings: Settings = Field(default_factory=Settings)

    def all_nodes(self) -> list[Node]:
        return [self.trigger, *self.nodes]

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)
