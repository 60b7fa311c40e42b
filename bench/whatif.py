"""What-if experiments for the benchmarks: caches moto lacks, installed in this process only
and only when a benchmark is asked to (`--what-if`). They measure what a change to
infra/local/moto_patches.py would gain before anyone makes it; the product never runs them.

- `parse-cache`: moto parses the ASL with ANTLR on every StartExecution
  (ExecutionWorker._get_evaluation_entrypoint → AmazonStateLanguageParser.parse), ~0.2 s
  for the drip template. Cached by definition text, executions share one parsed program
  (its components keep per-run state in the Environment, not in themselves).
- `jsonpath-cache`: moto calls jsonpath_ng's `parse` for each JSONPath it evaluates, and
  each call builds a new PLY parser (yacc tables read again). Cached by path text.
- `transact-no-backup`: moto's TransactWriteItems deep-copies every table it writes to
  (its rollback backup), so each transaction costs O(items in those tables) and a run's
  total grows with the square of its contacts. Skipped here: NOT SAFE (a failed
  transaction is no longer undone), only to measure what a cheaper rollback would gain.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

EXPERIMENTS = ("parse-cache", "jsonpath-cache", "transact-no-backup")


def install(names: list[str]) -> list[str]:
    """Install the named experiments; the names installed."""
    for name in names:
        if name not in EXPERIMENTS:
            raise ValueError(f"unknown what-if {name!r}; known: {', '.join(EXPERIMENTS)}")
    if "parse-cache" in names:
        _parse_cache()
    if "jsonpath-cache" in names:
        _jsonpath_cache()
    if "transact-no-backup" in names:
        _transact_no_backup()
    return names


def _parse_cache() -> None:
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    programs: dict[str, Any] = {}
    lock = threading.Lock()

    def program(definition: str) -> Any:
        # One parse per definition, also when many executions start at once.
        with lock:
            if definition not in programs:
                programs[definition] = AmazonStateLanguageParser.parse(definition)[0]
            return programs[definition]

    def entrypoint(self: Any) -> Any:
        return program(self._evaluation_details.state_machine_details.definition)

    ExecutionWorker._get_evaluation_entrypoint = entrypoint  # type: ignore[method-assign]


def _jsonpath_cache() -> None:
    import moto.stepfunctions.parser.asl.component.common.path.result_path as result_path
    import moto.stepfunctions.parser.asl.utils.json_path as json_path

    for module in (json_path, result_path):
        module.parse = functools.lru_cache(maxsize=4096)(module.parse)  # type: ignore[attr-defined]


def _transact_no_backup() -> None:
    import copy
    import types

    import moto.dynamodb.models as models

    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, models.Table):
            return value  # the "backup" is the live table: rollback becomes a no-op
        return copy.deepcopy(value, memo)

    models.copy = types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)  # type: ignore[attr-defined]
