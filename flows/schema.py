"""The flow document's JSON Schema, generated from the models (checked in; a test keeps it fresh).

The schema spells out every node kind's params (a `oneOf` keyed on `kind`), so tools and
editors other than ours can validate and autocomplete a flow file.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import Field, create_model

from flows.model import SCHEMA_VERSION, Edge, Flow, Node, Position, Settings
from flows.nodes import REGISTRY

SCHEMA_ID = f"urn:crmflow:schema:flow:{SCHEMA_VERSION}"


def _node_model(name: str, params: type, trigger: bool) -> type:
    base = Node.model_fields
    return create_model(
        f"{'Trigger' if trigger else 'Step'}_{name}",
        __config__=Node.model_config,
        __doc__=REGISTRY[name].description,
        id=(str, base["id"]),
        kind=(Literal[name], Field(description=REGISTRY[name].display_name)),  # type: ignore[valid-type]
        label=(str, base["label"]),
        params=(params, Field(default_factory=params)) if _all_optional(params) else (params, ...),
        position=(Position, Field(default_factory=Position)),
    )


def _all_optional(model: type) -> bool:
    return all(not f.is_required() for f in model.model_fields.values())  # type: ignore[attr-defined]


def flow_schema() -> dict[str, Any]:
    triggers = [
        _node_model(n, k.Params, True) for n, k in REGISTRY.items() if k.category == "trigger"
    ]
    steps = [
        _node_model(n, k.Params, False) for n, k in REGISTRY.items() if k.category != "trigger"
    ]
    trigger_type = Annotated[Union[tuple(triggers)], Field(discriminator="kind")]  # noqa: UP007
    step_type = Annotated[Union[tuple(steps)], Field(discriminator="kind")]  # noqa: UP007
    doc_model = create_model(
        "Flow",
        __config__=Flow.model_config,
        __doc__=Flow.__doc__,
        schema_version=(Literal["1.0"], Flow.model_fields["schema_version"]),
        id=(str, Flow.model_fields["id"]),
        name=(str, Flow.model_fields["name"]),
        description=(str, Flow.model_fields["description"]),
        # A fresh Field: reusing Flow's FieldInfo (typed Node) drops the discriminator.
        trigger=(trigger_type, Field(description=Flow.model_fields["trigger"].description)),
        nodes=(list[step_type], Flow.model_fields["nodes"]),  # type: ignore[valid-type]
        edges=(list[Edge], Flow.model_fields["edges"]),
        settings=(Settings, Field(default_factory=Settings)),
    )
    schema = doc_model.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def schema_text() -> str:
    return json.dumps(flow_schema(), indent=2, ensure_ascii=False, sort_keys=False) + "\n"
