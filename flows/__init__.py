"""crmflow's flow language: the flow document, its node kinds, validation and the ASL compiler.

Validate with `flows.validate.validate`, compile with `flows.compile_flow`. Pure Python: nothing here talks to AWS, and nothing here imports the rest of crmflow.
"""

from flows.compiler import Compiled, compile_flow, compile_report
from flows.errors import FlowError, FlowInvalid
from flows.issues import Issue, Report

__all__ = [
    "Compiled",
    "FlowError",
    "FlowInvalid",
    "Issue",
    "Report",
    "compile_flow",
    "compile_report",
]
