"""crmflow's flow language: the flow document, its node kinds, validation and the ASL compiler.

Pure Python: nothing here talks to AWS, and nothing here imports the rest of crmflow.
"""

from flows.compiler import Compiled, compile_flow, compile_report
from flows.errors import FlowError, FlowInvalid
from flows.issues import Issue, Report
from flows.validate import validate

__all__ = [
    "Compiled",
    "FlowError",
    "FlowInvalid",
    "Issue",
    "Report",
    "compile_flow",
    "compile_report",
    "validate",
]
