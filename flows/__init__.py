"""crmflow's flow language: the flow document, its node kinds, validation and the ASL compiler.

Validate with `flows.validate.validate`, compile with `flows.compile_flow`. Pure Python:
nothing here talks to AWS, and nothing here imports the rest of crmflow. Exports load on
first use, so importing one submodule (as a step Lambda does) stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Compiled": "flows.compiler",
    "compile_flow": "flows.compiler",
    "compile_report": "flows.compiler",
    "FlowError": "flows.errors",
    "FlowInvalid": "flows.errors",
    "Issue": "flows.issues",
    "Report": "flows.issues",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flows' has no attribute {name!r}")
    return getattr(import_module(module), name)
