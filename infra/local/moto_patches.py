"""Every patch crmflow makes to moto's internals, in one place, pinned to one moto version.

moto executes real ASL (an interpreter ported from LocalStack) but two things stop it from
running crmflow's flows locally: its Lambda needs Docker, and every Wait, task timeout,
heartbeat and retry interval passes in real time. The patches below route Lambda tasks to
Python handlers in this process and compress simulated time by a scale factor. Others
remove costs that grow with use: ASL and JSONPath parsed again for every execution and
evaluation (cached instead), and a whole-table copy per DynamoDB transaction (replaced by
a rollback of only the items the transaction touches); docs/benchmarks.md has the figures.
One lets the AWS template deploy into moto's CloudFormation: a RestApi's `Body` (the
OpenAPI document chalice writes) becomes its resources and methods, which moto ignored.

Each patch names the moto file and function it replaces and keeps the original. They are
written against moto `PINNED_MOTO`; `apply()` refuses any other version, and
tests/infra/test_moto_patches.py fails when a target moves or changes its signature.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import threading
import time
import traceback
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import import_module
from typing import Any

import moto
from botocore.exceptions import ClientError

from infra.errors import MotoPatchError

PINNED_MOTO = "5.2.5"

LOG = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]

# Lambda's own maximum; handlers only see it through get_remaining_time_in_millis().
FUNCTION_TIMEOUT_SECONDS = 900
# moto's TimeoutSeconds default ("no timeout given"): left unscaled so a .waitForTaskToken
# task without a timeout keeps waiting for its token instead of expiring after ~100 s x scale.
_MOTO_DEFAULT_TIMEOUT_SECONDS = 99999999
_ACCOUNT_ID = "123456789012"

_ASL = "moto.stepfunctions.parser.asl"


@dataclass(frozen=True)
class PatchTarget:
    """One moto attribute that `apply()` replaces, and the parameters its original must have."""

    module: str
    owner: str | None  # class inside `module`, or None for a module-level attribute
    attribute: str
    params: tuple[str, ...] | None  # None: not a function (e.g. a module reference)

    @property
    def label(self) -> str:
        return ".".join(p for p in (self.module, self.owner, self.attribute) if p)

    def resolve_owner(self) -> Any:
        module = import_module(self.module)
        return module if self.owner is None else getattr(module, self.owner)


LAMBDA_INVOKE = PatchTarget(
    f"{_ASL}.component.state.exec.state_task.lambda_eval_utils",
    None,
    "_invoke_lambda_function",
    ("parameters", "region", "state_credentials"),
)
WAIT_INTERVAL = PatchTarget(
    f"{_ASL}.component.state.wait.wait_function.wait_function",
    "WaitFunction",
    "_wait_interval",
    ("self", "env", "wait_seconds"),
)
TASK_TOKEN_WAIT = PatchTarget(
    f"{_ASL}.component.state.exec.state_task.service.state_task_service_callback",
    "StateTaskServiceCallback",
    "_eval_wait_for_task_token",
    ("self", "env", "timeout_seconds", "callback_endpoint", "heartbeat_endpoint"),
)
HEARTBEAT_INIT = PatchTarget(
    f"{_ASL}.eval.callback.callback",
    "HeartbeatEndpoint",
    "__init__",
    ("self", "heartbeat_seconds"),
)
RETRY_TIME = PatchTarget(
    f"{_ASL}.component.common.retry.retrier_decl",
    None,
    "time",
    None,
)
DYNAMODB_ACTION = PatchTarget("moto.dynamodb.responses", "DynamoHandler", "call_action", ("self",))
ENV_SET_ERROR = PatchTarget(
    f"{_ASL}.eval.environment", "Environment", "set_error", ("self", "error")
)
PROGRAM_PARSE = PatchTarget(
    "moto.stepfunctions.parser.backend.execution_worker",
    "ExecutionWorker",
    "_get_evaluation_entrypoint",
    ("self",),
)
JSONPATH_PARSE = PatchTarget(f"{_ASL}.utils.json_path", None, "parse", ("path", "debug"))
RESULT_PATH_PARSE = PatchTarget(
    f"{_ASL}.component.common.path.result_path", None, "parse", ("string",)
)
TRANSACT_WRITE = PatchTarget(
    "moto.dynamodb.models",
    "DynamoDBBackend",
    "transact_write_items",
    ("self", "transact_items"),
)
TRANSACT_COPY = PatchTarget("moto.dynamodb.models", None, "copy", None)
TABLE_QUERY = PatchTarget(
    "moto.dynamodb.models.table",
    "Table",
    "query",
    (
        "self",
        "hash_key",
        "range_comparison",
        "range_objs",
        "limit",
        "exclusive_start_key",
        "scan_index_forward",
        "projection_expressions",
        "index_name",
        "consistent_read",
        "filter_expression",
        "hash_key_conditions",
        "range_key_conditions",
        "filter_kwargs",
    ),
)
REST_API_FROM_TEMPLATE = PatchTarget(
    "moto.apigateway.models",
    "RestAPI",
    "create_from_cloudformation_json",
    ("resource_name", "cloudformation_json", "account_id", "region_name", "kwargs"),
)
PATCH_TARGETS: tuple[PatchTarget, ...] = (
    REST_API_FROM_TEMPLATE,
    DYNAMODB_ACTION,
    TRANSACT_WRITE,
    TRANSACT_COPY,
    TABLE_QUERY,
    ENV_SET_ERROR,
    PROGRAM_PARSE,
    JSONPATH_PARSE,
    RESULT_PATH_PARSE,
    LAMBDA_INVOKE,
    WAIT_INTERVAL,
    TASK_TOKEN_WAIT,
    HEARTBEAT_INIT,
    RETRY_TIME,
)

_lock = threading.Lock()
_originals: dict[PatchTarget, Any] = {}
_handlers: dict[str, Handler] = {}
_time_scale = 1.0
_waits: deque[tuple[str, float, float]] = deque(maxlen=1000)


# --- public API -------------------------------------------------------------------------


def apply(time_scale: float = 1.0) -> None:
    """Install every patch (once per process); a later call only changes the time scale."""
    global _time_scale
    if not time_scale > 0:
        raise ValueError(f"time_scale must be positive, got {time_scale!r}")
    check_version()
    _time_scale = float(time_scale)
    with _lock:
        if _originals:
            return
        # Resolve every target before touching any, so a moved target patches nothing.
        owners = {target: _owner_defining(target) for target in PATCH_TARGETS}
        replacements = _replacements()
        for target, owner in owners.items():
            _originals[target] = getattr(owner, target.attribute)
            setattr(owner, target.attribute, replacements[target])


def remove() -> None:
    """Put moto's originals back (the handler registry is left alone)."""
    with _lock:
        for target, saved in _originals.items():
            setattr(target.resolve_owner(), target.attribute, saved)
        _originals.clear()


def is_applied() -> bool:
    """Whether `apply()` has installed the patches in this process."""
    return bool(_originals)


def time_scale() -> float:
    """The factor applied to simulated waits (1.0 = real time)."""
    return _time_scale


def original(target: PatchTarget) -> Any:
    """moto's own implementation of a patched target."""
    return _originals[target]


def check_version() -> None:
    """Raise MotoPatchError unless the installed moto is the one these patches were written for."""
    if moto.__version__ != PINNED_MOTO:
        raise MotoPatchError(
            f"infra/local/moto_patches.py is pinned to moto {PINNED_MOTO} but moto "
            f"{moto.__version__} is installed: re-check every patch against the new moto "
            "source (tests/infra/test_moto_patches.py), then update PINNED_MOTO."
        )


def register(function_name: str, handler: Handler) -> None:
    """Route Lambda invocations of `function_name` (a name or an ARN) to `handler(event, context)`."""
    _handlers[function_name_of(function_name)] = handler


def unregister(function_name: str) -> None:
    """Forget the handler of `function_name`; unknown names are ignored."""
    _handlers.pop(function_name_of(function_name), None)


def clear() -> None:
    """Forget every registered handler."""
    _handlers.clear()


def registered() -> list[str]:
    """Names of the functions that currently have a handler."""
    return sorted(_handlers)


def function_name_of(function_name: str) -> str:
    """NAME from `NAME`, `NAME:QUALIFIER`, `ACCOUNT:function:NAME[:Q]` or a full function ARN."""
    parts = function_name.split(":")
    if "function" in parts[:-1]:
        return parts[parts.index("function") + 1]
    return parts[0]


def mock_is_active() -> bool:
    """Whether a `moto.mock_aws` context is active in this process (moto-internal flag)."""
    from moto.core.models import MockAWS

    return bool(MockAWS._mocks_active)


def executions_enabled() -> bool:
    """Whether moto's active config runs state machines (`execute_state_machine`)."""
    from moto.core.config import default_user_config

    return bool(default_user_config.get("stepfunctions", {}).get("execute_state_machine"))


# --- installing --------------------------------------------------------------------------


def _replacements() -> dict[PatchTarget, Any]:
    return {
        LAMBDA_INVOKE: _bridged_invoke_lambda_function,
        WAIT_INTERVAL: _scaled_wait_interval,
        TASK_TOKEN_WAIT: _scaled_eval_wait_for_task_token,
        HEARTBEAT_INIT: _scaled_heartbeat_init,
        RETRY_TIME: _ScaledSleepTime(),
        DYNAMODB_ACTION: _atomic_call_action,
        TRANSACT_WRITE: _transact_write_items,
        TRANSACT_COPY: _TableSharingCopy(),
        TABLE_QUERY: _partition_query,
        ENV_SET_ERROR: _set_error_unless_stopped,
        PROGRAM_PARSE: _cached_evaluation_entrypoint,
        JSONPATH_PARSE: _cached_jsonpath_parse(JSONPATH_PARSE),
        RESULT_PATH_PARSE: _cached_jsonpath_parse(RESULT_PATH_PARSE),
        REST_API_FROM_TEMPLATE: classmethod(_rest_api_with_body),
    }


def _owner_defining(target: PatchTarget) -> Any:
    # setattr on a class that merely inherits the attribute would shadow, not replace, it.
    try:
        owner = target.resolve_owner()
    except (ImportError, AttributeError) as exc:
        raise MotoPatchError(f"moto has no {target.label}: {exc}") from exc
    if target.attribute not in vars(owner):
        raise MotoPatchError(f"moto no longer defines {target.label}")
    return owner


def _scaled(seconds: float, what: str) -> float:
    # Every scaled wait is logged so tests can check the simulated time, not the wall clock.
    real = seconds * _time_scale
    _waits.append((what, seconds, real))
    return real


def scaled_waits() -> list[tuple[str, float, float]]:
    """(what, simulated seconds, real seconds) of recent scaled waits: wait, task_timeout,
    heartbeat or retry; oldest first."""
    return list(_waits)


def reset_scaled_waits() -> None:
    _waits.clear()


# --- Lambda bridge -----------------------------------------------------------------------


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that handlers use."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    memory_limit_in_mb: str = "128"
    log_group_name: str = ""
    log_stream_name: str = ""
    client_context: Any = None
    identity: Any = None
    _deadline: float = field(default_factory=lambda: time.time() + FUNCTION_TIMEOUT_SECONDS)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _bridged_invoke_lambda_function(parameters: dict, region: str, state_credentials: Any) -> dict:
    # Replaces _invoke_lambda_function in moto/stepfunctions/parser/asl/component/state/exec/
    # state_task/lambda_eval_utils.py, which execute_lambda_function_integration calls for
    # `arn:aws:states:::lambda:invoke[.waitForTaskToken]` and for bare function-ARN Tasks.
    # The original builds a new boto3 Lambda client per Task (about half the CPU of a run)
    # and moto's Lambda then needs Docker; here the registered handler runs in-process and
    # the response has the shape the original returns (Payload already decoded).
    requested = parameters["FunctionName"]
    handler = _handlers.get(function_name_of(requested))
    if handler is None:
        raise _resource_not_found(requested, region)
    context = LambdaContext(
        function_name=function_name_of(requested),
        invoked_function_arn=_function_arn(requested, region),
    )
    payload, function_error = _run_handler(handler, _decode_event(parameters), context)
    response: dict[str, Any] = {
        "StatusCode": 200,
        "ExecutedVersion": "$LATEST",
        "Payload": _decode_payload(payload),
    }
    if function_error:
        response["FunctionError"] = function_error
    return response


def _run_handler(handler: Handler, event: Any, context: LambdaContext) -> tuple[bytes, str | None]:
    """Run like the Python runtime (awslambdaric): errors become an Unhandled error payload."""
    try:
        result = handler(event, context)
    except Exception as exc:
        LOG.info("handler %s raised %s", context.function_name, type(exc).__name__, exc_info=True)
        return _error_payload(exc, context.aws_request_id), "Unhandled"
    try:
        return _marshal(result), None
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        body = _make_error(message, "Runtime.MarshalError", [], context.aws_request_id)
        return json.dumps(body).encode(), "Unhandled"


def _decode_event(parameters: dict) -> Any:
    # moto's to_payload_type always sends JSON bytes; Lambda hands an empty body over as {}.
    raw = parameters.get("Payload")
    if not raw:
        return {}
    return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)


def _marshal(result: Any) -> bytes:
    # The runtime returns bytes untouched and encodes Decimal (DynamoDB numbers) as numbers.
    if isinstance(result, bytes):
        return result
    return json.dumps(result, default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _decode_payload(payload: bytes) -> Any:
    # Same rule as moto's lambda_eval_utils._from_payload: JSON if it parses, else the text.
    text = payload.decode("utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _error_payload(exc: Exception, request_id: str) -> bytes:
    frames = list(traceback.extract_tb(exc.__traceback__))
    while frames and frames[0].filename == __file__:  # the runtime hides its own frames too
        frames.pop(0)
    body = _make_error(str(exc), type(exc).__name__, traceback.format_list(frames), request_id)
    return json.dumps(body).encode("utf-8")


def _make_error(message: str, error_type: str, stack: list[str], request_id: str) -> dict:
    # Field order and names of awslambdaric.bootstrap.make_error; Step Functions uses
    # errorType as the ASL error name, so `Crm.ContactNotFound` can be caught by name.
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack,
    }


def _function_arn(requested: str, region: str) -> str:
    if requested.startswith("arn:"):
        return requested
    return f"arn:aws:lambda:{region}:{_ACCOUNT_ID}:function:{function_name_of(requested)}"


def _resource_not_found(requested: str, region: str) -> ClientError:
    # What boto3 raises for an unknown function; moto's StateTaskServiceLambda turns it
    # into the ASL error `Lambda.ResourceNotFoundException`, as AWS does.
    return ClientError(
        {
            "Error": {
                "Code": "ResourceNotFoundException",
                "Message": f"Function not found: {_function_arn(requested, region)}",
                "Type": "User",
            },
            "ResponseMetadata": {"HTTPStatusCode": 404, "RequestId": str(uuid.uuid4())},
        },
        "Invoke",
    )


# --- DynamoDB atomicity ------------------------------------------------------------------

_DYNAMODB_LOCK = threading.RLock()


def _atomic_call_action(self: Any) -> Any:
    # Wraps DynamoHandler.call_action in moto/dynamodb/responses.py, where every DynamoDB
    # request runs, in-process and in server mode alike. moto's DynamoDB checks a
    # ConditionExpression and then writes with no lock, so two threads can both pass
    # `version = 7` and one update is lost (measured: 199 of 200 increments). Real DynamoDB
    # applies each request atomically; running DynamoDB requests one at a time restores that.
    with _DYNAMODB_LOCK:
        return _originals[DYNAMODB_ACTION](self)


# --- DynamoDB queries ---------------------------------------------------------------------


def _partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    # Wraps Table.query in moto/dynamodb/models/table.py. moto answers every Query from
    # `self.all_items()`, which lists and sorts the whole table (DynamoType comparisons,
    # ~3.5 s for 50,000 items), and then keeps the items of the queried partition: a Query
    # cost grew with the table, not with its partition (measured: 1.3 s for one page of
    # contacts by stage among 50,000). Here all_items() returns only the candidates: the
    # partition itself for a table Query, the items whose index hash key has the asked
    # value for an index Query (a plain comparison of stored values). moto's own matching,
    # ordering, paging and projection then run unchanged on those. Under the DynamoDB lock
    # (every request is), so no other request sees the narrowed all_items.
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    conditions = kwargs.get("hash_key_conditions") or []
    if index_name:
        candidates = _index_candidates(self, conditions)
    else:
        candidates = _partition_items(self, hash_key)
    if candidates is None:
        return _originals[TABLE_QUERY](self, hash_key, *args, **kwargs)
    with _DYNAMODB_LOCK:
        self.all_items = lambda: candidates  # shadows the method for this query only
        try:
            return _originals[TABLE_QUERY](self, hash_key, *args, **kwargs)
        finally:
            del self.all_items


def _partition_items(table: Any, hash_key: Any) -> list[Any] | None:
    if hash_key is None:
        return None
    bucket = table.items.get(hash_key)
    if bucket is None:
        return []
    if not table.range_key_attr:
        return [bucket]
    # Handed over in order: moto sorts them again with DynamoType comparisons (~3 µs
    # each), and a sorted list costs its sort one comparison an item, not n log n.
    return sorted(bucket.values(), key=_range_order)


def _range_order(item: Any) -> Any:
    key = item.range_key
    return float(key.value) if key.type == "N" else key.value


def _index_candidates(table: Any, conditions: list[tuple[str, Any]]) -> list[Any] | None:
    wanted = [(name, _comparable(value)) for name, value in conditions]
    if not wanted or any(value is None for _, value in wanted):
        return None  # binary keys, or an old-style call: leave them to moto
    found = []
    for bucket in table.items.values():
        for item in bucket.values() if table.range_key_attr else (bucket,):
            attrs = item.attrs
            if all(_comparable(attrs.get(name)) == value for name, value in wanted):
                found.append(item)
    return found


def _comparable(value: Any) -> tuple[str, Any] | None:
    # Numbers as floats: equal numbers ("1" and "1.0") stay equal, and the few unequal
    # ones a float cannot tell apart are sorted out by moto's own exact check.
    if value is None or value.type not in ("S", "N"):
        return None
    return (value.type, float(value.value) if value.type == "N" else value.value)


# --- DynamoDB transactions ----------------------------------------------------------------


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    # Wraps DynamoDBBackend.transact_write_items in moto/dynamodb/models/__init__.py. moto
    # deep-copies every table a transaction writes to before it starts, as its rollback
    # backup: O(items in the table) per transaction, so a CRM's every new contact and
    # enrollment cost more as it grew. _TableSharingCopy turns that copy into the live table
    # (moto's own rollback then restores nothing); instead we save the items the transaction
    # names, and its tables' stream records, and put back exactly those if moto raises
    # (TransactionCanceledException, or a ValidationException moto raises mid-way). moto's
    # checks, writes and cancellation reasons are unchanged. Under the DynamoDB lock, as every
    # request already runs, nothing sees the writes of a transaction that is then undone.
    with _DYNAMODB_LOCK:
        undo = _TransactionUndo(self, transact_items)
        try:
            _originals[TRANSACT_WRITE](self, transact_items)
        except BaseException:
            undo.restore()
            raise


class _TableSharingCopy:
    """Stands in for the `copy` module inside moto.dynamodb.models: a Table is not copied."""

    # Replaces the module reference `copy` in moto/dynamodb/models/__init__.py, where
    # transact_write_items takes `copy.deepcopy(self.tables[name])` as its backup and, on
    # failure, assigns it back. The module's other deepcopy (update_item's old item, for
    # the stream record) still copies.

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        from moto.dynamodb.models.table import Table

        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


@dataclass
class _SavedItem:
    table: Any
    hash_key: Any
    range_key: Any  # None in a table without a sort key
    had_bucket: bool  # with a sort key: whether table.items had a dict for hash_key
    item: Any  # a deep copy of the item before the transaction; None if there was none


class _TransactionUndo:
    """What a transaction may change, saved before it runs: the items its Put, Update,
    Delete and ConditionCheck parts name, and the length of its tables' stream shards."""

    def __init__(self, backend: Any, transact_items: list[dict[str, Any]]) -> None:
        self._items: list[_SavedItem] = []
        self._whole_tables: list[tuple[Any, Any]] = []
        self._streams: list[tuple[Any, list, int]] = []
        tables: dict[int, Any] = {}
        for part in transact_items:
            if not isinstance(part, dict):
                continue  # moto fails on it before writing anything
            for op_type, op in part.items():
                table = _table_or_none(backend, op)
                if table is None:
                    continue  # moto fails this part before writing anything
                tables[id(table)] = table
                slot = _slot(table, op_type, op)
                if slot is None:
                    # Key attributes missing or malformed: moto fails this part, but rather
                    # than rely on where, back the whole table up as moto does.
                    self._whole_tables.append((table, copy.deepcopy(table.items)))
                else:
                    self._items.append(_save(table, *slot))
        for table in tables.values():
            shard = table.stream_shard
            if shard is not None:
                self._streams.append((shard, shard.items, len(shard.items)))

    def restore(self) -> None:
        for saved in self._items:
            _put_back(saved)
        for table, items in self._whole_tables:
            table.items = items
        for shard, records, length in self._streams:
            # StreamShard.add appends to `items` and replaces the list once it has handed
            # the records to a Lambda event source mapping.
            del records[length:]
            shard.items = records


def _table_or_none(backend: Any, op: Any) -> Any:
    from moto.dynamodb.exceptions import ResourceNotFoundException

    try:
        return backend.get_table(op["TableName"])  # by name or ARN, as moto looks it up
    except (ResourceNotFoundException, KeyError, TypeError):
        return None


def _slot(table: Any, op_type: str, op: dict[str, Any]) -> tuple[Any, Any] | None:
    """The (hash key, range key) moto reads and writes for one part of a transaction: from
    the Put's Item, else from the Key. None when the key attributes are not all there."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    attrs = op.get("Item") if op_type == "Put" else op.get("Key")
    names = table.table_key_attrs  # [hash key name] or [hash key name, range key name]
    if not isinstance(attrs, dict) or any(name not in attrs for name in names):
        return None
    try:
        keys = [DynamoType(attrs[name]) for name in names]
    except Exception:
        return None
    return keys[0], (keys[1] if len(keys) > 1 else None)


def _save(table: Any, hash_key: Any, range_key: Any) -> _SavedItem:
    # moto keeps items in `table.items`: {hash: Item} without a sort key, {hash: {range:
    # Item}} with one (a defaultdict: reading a missing hash adds an empty dict). Indexes
    # hold nothing of their own: queries and scans on them read `table.items`.
    bucket = table.items.get(hash_key)  # .get: no defaultdict insertion
    item = bucket if range_key is None or bucket is None else bucket.get(range_key)
    # A deep copy: update_item changes the stored Item in place.
    return _SavedItem(table, hash_key, range_key, bucket is not None, copy.deepcopy(item))


def _put_back(saved: _SavedItem) -> None:
    items = saved.table.items
    if saved.range_key is None:
        if saved.item is None:
            items.pop(saved.hash_key, None)
        else:
            items[saved.hash_key] = saved.item
        return
    if saved.item is not None:
        items[saved.hash_key][saved.range_key] = saved.item
    elif saved.hash_key in items:
        items[saved.hash_key].pop(saved.range_key, None)
        if not saved.had_bucket and not items[saved.hash_key]:
            del items[saved.hash_key]


# --- parsing -----------------------------------------------------------------------------

# Parsed programs by definition text, least recently used dropped first. 256 definitions
# hold every published flow version of a large CRM; the drip template's takes ~0.25 MB.
_MAX_PROGRAMS = 256
_programs: OrderedDict[str, Any] = OrderedDict()
_programs_lock = threading.Lock()


def _cached_evaluation_entrypoint(self: Any) -> Any:
    # Wraps ExecutionWorker._get_evaluation_entrypoint in moto/stepfunctions/parser/backend/
    # execution_worker.py, which parses the definition with ANTLR for every StartExecution
    # (~0.2 s of CPU for the drip template). Parsed once per definition text, the program is
    # shared by every execution of it, also concurrent ones. That is safe because moto's
    # evaluation components keep no per-run state on themselves (read for moto 5.2.5):
    # - every value of a run lives in its Environment (stack, heap, states, variable store,
    #   program state, callback and map-run pools); Map iterations and Parallel branches get
    #   frames of their own, with their own heap. moto itself already evaluates one component
    #   tree in many threads: a Map's iterations all run the same ItemProcessor states.
    # - Retry counters (MaxAttemptsDecl, BackoffRateDecl) live in env.heap, keyed by the
    #   component's heap_key, and Program clears env.heap after each state; Catch, Wait,
    #   Choice and .waitForTaskToken tasks (tokens: env.callback_pool_manager) store
    #   nothing either. JobPool, BranchWorkerPool, MapRunRecord and the workers are created
    #   per evaluation. The only attribute a component sets after parsing is heap_key's
    #   lazily created key (_settle_heap_keys).
    # - Literals handed out by reference are scalars, except a Pass state's Result, which
    #   its ResultPath deep-copies before anything can change it; payload templates build a
    #   new dict or list per evaluation.
    # ExecutionWorker's TestState subclass has its own parser and entrypoint: not cached.
    definition = self._evaluation_details.state_machine_details.definition
    with _programs_lock:  # held while parsing: N executions starting at once parse once
        program = _programs.get(definition)
        if program is None:
            program = _originals[PROGRAM_PARSE](self)
            _settle_heap_keys(program)
            if len(_programs) >= _MAX_PROGRAMS:
                _programs.popitem(last=False)
            _programs[definition] = program
        _programs.move_to_end(definition)
        return program


def _settle_heap_keys(program: Any) -> None:
    """Create every component's heap_key now, before the program is shared."""
    # EvalComponent.heap_key (moto/stepfunctions/parser/asl/component/eval_component.py)
    # is made on first read and stored on the component. Two executions reading it first
    # at once could each store a different key; one would then miss the retry count it
    # keeps in its env.heap under its key. Created here, the key is only ever read.
    from moto.stepfunctions.parser.asl.component.component import Component
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent

    seen: set[int] = set()
    pending = [program]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, EvalComponent):
            _ = node.heap_key
        if isinstance(node, Component):
            pending.extend(vars(node).values())
        elif isinstance(node, list | tuple | set | frozenset):
            pending.extend(node)
        elif isinstance(node, dict):
            pending.extend(node.values())


def _cached_jsonpath_parse(target: PatchTarget) -> Callable[[str], Any]:
    # Replaces the `parse` that moto/stepfunctions/parser/asl/utils/json_path.py
    # (extract_json: InputPath, OutputPath, ItemsPath, every "x.$" field) and
    # component/common/path/result_path.py (ResultPath) import from jsonpath_ng. Each call
    # builds a new PLY parser, loading its tables again (~10 % of a drip execution's CPU).
    # Paths come from definitions, so 4096 cover them. Sharing one parsed path is safe:
    # jsonpath_ng's path objects set no attribute after construction; find() and
    # update_or_create() build new DatumInContext objects and change only the data.
    @functools.lru_cache(maxsize=4096)
    def parse(path: str) -> Any:
        return _originals[target](path)

    return parse


# --- stopped executions ------------------------------------------------------------------


def _set_error_unless_stopped(self: Any, error: Any) -> None:
    # Wraps Environment.set_error in moto/stepfunctions/parser/asl/eval/environment.py.
    # StopExecution wakes a task waiting for its token, which then reports States.Timeout;
    # moto's set_error overwrites the stopped state with it, so the execution ends FAILED
    # with History "ExecutionFailed". On AWS a stopped execution is ABORTED whatever its
    # interrupted task says; keep the stop (the lock is an RLock, held by the original too).
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

    with self._state_mutex:
        if isinstance(self._program_state, ProgramStopped):
            return
        _originals[ENV_SET_ERROR](self, error)


# --- time scaling ------------------------------------------------------------------------


def _scaled_wait_interval(self: Any, env: Any, wait_seconds: float) -> None:
    # Replaces WaitFunction._wait_interval in moto/stepfunctions/parser/asl/component/state/
    # wait/wait_function/wait_function.py. Seconds, SecondsPath, Timestamp and TimestampPath
    # only compute `_get_wait_seconds`; `WaitFunction._eval_body` then calls this, so one
    # patch scales all four. The original waits in real time and, rounding the time waited
    # down to whole seconds, would re-enter itself for sub-second waits. Like it, we wake
    # early when the execution stops (program_state_event) and return when it is not running.
    deadline = time.monotonic() + _scaled(wait_seconds, "wait")
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(remaining)


def _scaled_eval_wait_for_task_token(
    self: Any,
    env: Any,
    timeout_seconds: float | None,
    callback_endpoint: Any,
    heartbeat_endpoint: Any,
) -> Any:
    # Wraps StateTaskServiceCallback._eval_wait_for_task_token in moto/stepfunctions/parser/
    # asl/component/state/exec/state_task/service/state_task_service_callback.py: the wait
    # for SendTaskSuccess/Failure of a .waitForTaskToken (and .sync) task, which moto bounds
    # by TimeoutSeconds in real time. Only this wait is scaled, not ExecuteState's outer
    # timeout around the whole task: that one also bounds the handler's real CPU time, and
    # scaled to microseconds it would time out every Task with a TimeoutSeconds.
    #
    # It also ends the wait when the execution is stopped. moto's StopExecution marks the
    # program stopped but never interrupts a task waiting for its token, which then waits
    # out its whole TimeoutSeconds (a year, unscaled); on AWS the execution stops at once.
    if timeout_seconds is not None and timeout_seconds != _MOTO_DEFAULT_TIMEOUT_SECONDS:
        timeout_seconds = _scaled(timeout_seconds, "task_timeout")
    done = threading.Event()

    def interrupt_when_stopped() -> None:
        while not done.is_set():
            if not env.is_running():
                callback_endpoint.interrupt_all()
                return
            env.program_state_event.wait(0.2)

    threading.Thread(target=interrupt_when_stopped, daemon=True).start()
    try:
        return _originals[TASK_TOKEN_WAIT](
            self,
            env=env,
            timeout_seconds=timeout_seconds,
            callback_endpoint=callback_endpoint,
            heartbeat_endpoint=heartbeat_endpoint,
        )
    finally:
        done.set()


def _scaled_heartbeat_init(self: Any, heartbeat_seconds: float) -> None:
    # Wraps HeartbeatEndpoint.__init__ in moto/stepfunctions/parser/asl/eval/callback/
    # callback.py: clear_and_wait() waits `_heartbeat_seconds` in real time for
    # SendTaskHeartbeat; scaling it at construction covers service and activity tasks.
    _originals[HEARTBEAT_INIT](self, heartbeat_seconds=_scaled(heartbeat_seconds, "heartbeat"))


class _ScaledSleepTime:
    """Stands in for the `time` module inside moto's retrier_decl: only `sleep` is scaled."""

    # Replaces the module reference `time` in moto/stepfunctions/parser/asl/component/common/
    # retry/retrier_decl.py, whose RetrierDecl._eval_body ends in time.sleep(interval) after
    # IntervalSeconds, BackoffRate, MaxDelaySeconds and JitterStrategy are applied. A retry
    # "in 5 minutes" is simulated time like a Wait; copying _eval_body to scale one line
    # would fork more of moto than swapping the module it sleeps through.

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(_scaled(seconds, "retry"))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


# --- CloudFormation: a RestApi's Body ----------------------------------------------------


def _rest_api_with_body(
    cls: Any,
    resource_name: str,
    cloudformation_json: dict[str, Any],
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> Any:
    """moto's RestApi from a template, with the paths of its `Body` (Swagger 2.0 or
    OpenAPI 3) as resources and methods. moto ignores the Body, and then refuses the
    template's Deployment: "The REST API doesn't contain any methods"."""
    api = _originals[REST_API_FROM_TEMPLATE](
        resource_name, cloudformation_json, account_id, region_name, **kwargs
    )
    body = cloudformation_json["Properties"].get("Body") or {}
    backend = import_module("moto.apigateway.models").apigateway_backends[account_id][region_name]
    for path, operations in sorted(body.get("paths", {}).items()):
        resource = _resource_for_path(backend, api, path)
        for verb, operation in operations.items():
            if verb.startswith("x-") or not isinstance(operation, dict):
                continue
            method = verb.upper()
            backend.put_method(api.id, resource.id, method, authorization_type="NONE")
            integration = operation.get("x-amazon-apigateway-integration")
            if integration:
                backend.put_integration(
                    api.id,
                    resource.id,
                    method,
                    integration_type=integration.get("type", "aws_proxy").upper(),
                    uri=integration.get("uri", ""),
                    integration_method=integration.get("httpMethod", "POST"),
                )
    return api


def _resource_for_path(backend: Any, api: Any, path: str) -> Any:
    resource = api.default
    for part in [p for p in path.split("/") if p]:
        here = f"{resource.get_path().rstrip('/')}/{part}"
        resource = api.get_resource_for_path(here) or backend.create_resource(
            api.id, resource.id, part
        )
    return resource
