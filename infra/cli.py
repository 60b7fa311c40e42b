"""The `crmflow` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, TypeVar

import click

from flows.compiler import Compiled, compile_report
from flows.cost import estimate_dict
from flows.issues import Issue, Report
from flows.reference import nodes_markdown
from flows.schema import schema_text
from flows.validate import validate
from infra.aws import commands as aws_commands
from infra.local import commands as local_commands

T = TypeVar("T")


def _progress(items: Sequence[T], label: str) -> AbstractContextManager[Iterable[T]]:
    """A progress bar on stderr where there is something to wait for."""
    if len(items) < 2:
        return nullcontext(items)
    return click.progressbar(items, label=label, file=sys.stderr, show_pos=True)


def _load(path: str) -> Report:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        report = Report()
        report.add(Issue("$", f"cannot read {path}: {exc.strerror or exc}"))
        return report
    return validate(data)


def _print_report(path: str, report: Report, strict: bool = False) -> None:
    if not report.ok:
        click.secho(f"✗ {path}: {len(report.errors)} error(s)", fg="red", err=True)
    elif strict and report.warnings:
        click.secho(
            f"✗ {path}: {len(report.warnings)} warning(s), refused by --strict", fg="red", err=True
        )
    else:
        note = f" ({len(report.warnings)} warning(s))" if report.warnings else ""
        click.secho(f"✓ {path}: valid{note}", fg="green")
    for issue in report.errors:
        click.echo(f"  error   {issue}", err=True)
    for issue in report.warnings:
        click.echo(f"  warning {issue}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="crmflow")
def main() -> None:
    """crmflow: CRM workflows compiled to AWS Step Functions.

    Validate and compile flow files, estimate what they cost, and print the flow format's
    JSON Schema. Exit status: 0 on success, 1 when a flow is invalid.
    """


@main.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate_cmd(files: tuple[str, ...], as_json: bool, strict: bool) -> None:
    """Check flow files; print every error and warning with its JSON path."""
    failed = False
    results = {}
    for path in files:
        report = _load(path)
        failed |= not report.ok or (strict and bool(report.warnings))
        if as_json:
            results[path] = report.to_dict()
        else:
            _print_report(path, report, strict)
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
    sys.exit(1 if failed else 0)


def _compile(path: str) -> Compiled | None:
    report = _load(path)
    if not report.ok:
        _print_report(path, report)
        return None
    return compile_report(report)


@main.command("compile")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--out",
    type=click.Path(),
    help="Output file (one flow) or folder (several flows; one NAME.asl.json each). Default: stdout.",
)
def compile_cmd(files: tuple[str, ...], out: str | None) -> None:
    """Compile flow files to Amazon States Language."""
    if len(files) > 1 and not out:
        raise click.UsageError("several flows need -o FOLDER")
    failed = False
    with _progress(files, "Compiling") as bar:
        compiled = [(path, _compile(path)) for path in bar]
    for path, result in compiled:
        if result is None:
            failed = True
            continue
        stats = result.stats
        summary = (
            f"{path}: {result.state_count} states, {stats.min_transitions}–{stats.max_transitions} "
            f"transitions per contact over {stats.path_count} path(s)"
        )
        if out is None:
            click.echo(result.asl, nl=False)
            click.echo(summary, err=True)
            continue
        target = Path(out)
        if len(files) > 1 or target.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            target = target / f"{result.flow.id}.asl.json"
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(result.asl, encoding="utf-8")
        click.echo(f"{summary} → {target}", err=True)
    sys.exit(1 if failed else 0)


@main.command("cost")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--contacts",
    "-n",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="How many contacts go through the flow.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the estimate as JSON.")
def cost_cmd(file: str, contacts: int, as_json: bool) -> None:
    """Estimate the AWS cost of running a flow for N contacts."""
    result = _compile(file)
    if result is None:
        sys.exit(1)
    estimate = estimate_dict(result.stats, contacts)
    if as_json:
        click.echo(
            json.dumps(
                {"flow": result.flow.id, **result.stats.to_dict(), "cost": estimate},
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    stats = result.stats
    click.echo(f"{result.flow.name} ({result.flow.id}) — {contacts:,} contacts")
    click.echo(
        f"{result.state_count} states; {stats.min_transitions}–{stats.max_transitions} "
        f"state transitions per contact over {stats.path_count} path(s)\n"
    )
    click.echo(f"{'service':<15} {'unit':<18} {'per contact':>12} {'USD min':>10} {'USD max':>10}")
    for row in estimate["lines"]:
        per = row["per_contact"]
        span = f"{per['min']:g}" if per["min"] == per["max"] else f"{per['min']:g}–{per['max']:g}"
        click.echo(
            f"{row['service']:<15} {row['unit']:<18} {span:>12} "
            f"{row['usd']['min']:>10.4f} {row['usd']['max']:>10.4f}"
        )
    total = estimate["total_usd"]
    click.echo(f"{'total':<15} {'':<18} {'':>12} {total['min']:>10.4f} {total['max']:>10.4f}")
    click.echo(
        f"\nPrices: {estimate['region']}, as of {estimate['prices_as_of']}. "
        f"{estimate['assumptions']}"
    )


@main.command("simulate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--choose",
    "choices",
    multiple=True,
    metavar="NODE=OUTPUT",
    help="Send contacts out of NODE by OUTPUT (yes/no, a case or variant, "
    "happened/timed_out, met/next). Repeatable.",
)
@click.option("--fail", "failing", multiple=True, metavar="NODE", help="Make this action fail.")
@click.option("--all-paths", is_flag=True, help="Run once per output of every branching node.")
@click.option(
    "--time-scale",
    type=float,
    default=1e-8,
    show_default=True,
    help="Real seconds per simulated second (1e-8: a year of waiting passes in 0.3 s).",
)
def simulate_cmd(
    files: tuple[str, ...],
    choices: tuple[str, ...],
    failing: tuple[str, ...],
    all_paths: bool,
    time_scale: float,
) -> None:
    """Run flows on the local Step Functions interpreter (moto), with stand-in steps.

    The state machine runs for real — choices, waits (fast-forwarded), task tokens, retries
    and failure paths; the steps themselves only record that they were called. Exit 1 when
    a run fails that was not told to.
    """
    try:
        from infra.local.sfn_runner import local_sfn
        from infra.local.simulate import Script, Simulator, coverage_scripts
    except ImportError as exc:  # moto is a development dependency
        raise click.ClickException(f"simulate needs the dev tools (make install): {exc}") from None
    script = Script(dict(_pair(c) for c in choices), frozenset(failing))
    failed = False
    with local_sfn(time_scale=time_scale) as sfn:
        for path in files:
            result = _compile(path)
            if result is None:
                failed = True
                continue
            scripts = coverage_scripts(result.flow) if all_paths else [script]
            click.secho(f"{path} ({len(scripts)} run(s))", bold=True)
            with Simulator(sfn, result) as simulator, _progress(scripts, "Simulating") as bar:
                runs = [simulator.run(s) for s in bar]
            failed |= _print_runs(runs)
    sys.exit(1 if failed else 0)


def _print_runs(runs: list) -> bool:
    """Print each run's path; True when one failed unexpectedly."""
    failed = False
    for run in runs:
        steps = [s for s in run.states if not s.endswith((".route", ".wait"))]
        colour = "green" if run.status == "SUCCEEDED" else "red"
        click.secho(f"  {run.status:<9} {run.script.describe()}", fg=colour)
        click.echo(f"            {' → '.join(steps)}")
        failed |= run.status != "SUCCEEDED" and not run.script.fail
    return failed


def _pair(text: str) -> tuple[str, str]:
    node, sep, output = text.partition("=")
    if not sep or not node or not output:
        raise click.BadParameter(f"'{text}' is not NODE=OUTPUT", param_hint="--choose")
    return node, output


def _region_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A two-letter country code as stored (IR, DE); a usage error naming the option."""
    if value is None:
        return None
    from functions.errors import InvalidRecord
    from functions.store.normalize import region_code

    try:
        return region_code(value)
    except InvalidRecord as exc:
        raise click.BadParameter(str(exc)) from None


MAX_LISTED = 20  # rejections and warnings printed when there is no --report file


@main.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--map",
    "maps",
    multiple=True,
    metavar="COLUMN=FIELD",
    help="Put COLUMN into FIELD (email, first_name, phone, tags, custom.NAME, ignore, …). "
    "Repeatable; other columns are mapped from their header names.",
)
@click.option(
    "--region",
    metavar="CC",
    callback=_region_option,
    help="Country (two-letter code, e.g. DE, IR) of phone numbers written without a country "
    "code. Default: the workspace setting (crmflow settings set --default-region).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Write the rejected rows and the warnings (row, outcome, field, reason) to this CSV.",
)
@click.option(
    "--local",
    is_flag=True,
    help="Import into an in-process moto DynamoDB with fresh tables, gone at exit: a dry run to try a file.",
)
def import_cmd(
    file: str, maps: tuple[str, ...], region: str | None, report_path: str | None, local: bool
) -> None:
    """Import contacts from a CSV file (UTF-8, with or without BOM; , ; or tab).

    A row is rejected only when it has no email or its email is not an address. A row
    whose address (case and spaces ignored) came earlier in the file or is already stored
    is merged into that contact: later values fill or replace fields, tags and products
    are added. Values that cannot be read (a phone, a time zone, a consent) are warnings:
    the row imports and the text is kept in custom.<field>_as_typed. Phones become E.164;
    00 before a country code counts as +, in any script's digits.

    Prints `N new, M merged, R rejected, E empty rows skipped, W warnings`. Writes to the
    DynamoDB the environment points at (AWS_ENDPOINT_URL, AWS_REGION) unless --local. Exit
    status: 0 when the file was processed, even with rejected rows; 1 when it could not
    be read.
    """
    mapping = dict(_mapping_pair(m) for m in maps)
    with _local_store() if local else nullcontext():
        from functions.errors import CrmError
        from functions.store.importer import import_contacts, write_report

        try:
            with click.progressbar(
                length=_line_count(file), label="Importing", file=sys.stderr, show_pos=True
            ) as bar:
                report = import_contacts(
                    file, mapping=mapping, default_region=region, progress=bar.update
                )
        except CrmError as exc:
            click.secho(f"✗ {file}: {exc}", fg="red", err=True)
            sys.exit(1)
    if report_path:
        write_report(report, report_path)
    found = bool(report.rejected or report.warnings)
    where = f" — see {report_path}" if report_path and found else ""
    click.echo(f"{report.rows_read:,} rows read: {report.summary()}{where}")
    if found and not report_path:
        _list_findings(report)


def _list_findings(report: Any) -> None:
    """The first rejections and warnings on stderr, and where to find the rest."""
    for title, found in (
        ("rejected", report.rejected),
        ("imported, with a warning", report.warnings),
    ):
        for item in found[:MAX_LISTED]:
            click.echo(f"  row {item.row}: {title}: {item.field}: {item.reason}", err=True)
        if len(found) > MAX_LISTED:
            click.echo(
                f"  … {len(found) - MAX_LISTED:,} more {title}; use --report FILE for all",
                err=True,
            )


@main.group("settings", invoke_without_command=True)
@click.pass_context
def settings_group(ctx: click.Context) -> None:
    """Show or change the workspace settings.

    Without a subcommand, shows them. Settings are stored in the DynamoDB the environment
    points at (AWS_ENDPOINT_URL, AWS_REGION, CRMFLOW_TABLE_PREFIX); admins change them over
    HTTP with PUT /settings.

    default_region: the country (two-letter code) of phone numbers written without a
    country code, for imports without --region and contacts without a country.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(settings_show_cmd)


@settings_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
def settings_show_cmd(as_json: bool = False) -> None:
    """Print the workspace settings (unset ones as "not set")."""
    from functions.store.settings import get_settings, settings_json

    _print_settings(settings_json(get_settings()), as_json)


@settings_group.command("set")
@click.option(
    "--default-region",
    metavar="CC",
    help="Country of phone numbers written without a country code (e.g. IR, AE, DE); "
    "'' (an empty value) unsets it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
def settings_set_cmd(default_region: str | None, as_json: bool) -> None:
    """Change the settings given as options; the others stay as they are."""
    from functions.errors import CrmError
    from functions.store.settings import settings_json, update_settings

    changes = {"default_region": default_region} if default_region is not None else {}
    if not changes:
        raise click.UsageError("name a setting to change, e.g. --default-region IR")
    try:
        settings = update_settings(changes, by="cli")
    except CrmError as exc:
        raise click.ClickException(str(exc)) from None
    _print_settings(settings_json(settings), as_json)


def _print_settings(shown: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    click.echo(f"default_region: {shown['default_region'] or 'not set'}")
    if shown["updated_at"]:
        click.echo(f"changed {shown['updated_at']} by {shown['updated_by'] or 'unknown'}")


CHUNK_SECONDS = 300.0  # each chunk lists the candidates again (see docs/api.md on broadcasts)
MAX_SHOWN = 20  # failures printed; the counts are whole


@main.command("broadcast")
@click.argument("flow_id")
@click.option(
    "--run-id",
    metavar="ID",
    help="Name of the broadcast. Give an earlier run's id to finish it: contacts it "
    "already enrolled are not enrolled again. Default: the flow, its version and the time.",
)
def broadcast_cmd(flow_id: str, run_id: str | None) -> None:
    """Broadcast the published segment flow FLOW_ID: enroll every contact its trigger's
    filter (or the saved segment it names) matches, each once, and print what happened.

    Candidates come from the store's indexes and each is checked against the whole
    filter; contacts already in the flow, or once in it when it allows no re-enrollment,
    are skipped. Runs against the DynamoDB and Step Functions the environment points at
    (AWS_ENDPOINT_URL for the local stack, AWS_REGION, CRMFLOW_TABLE_PREFIX).

    On AWS it starts at most CRMFLOW_BROADCAST_RATE executions a second (default 250),
    under Step Functions' StartExecution refill of 300 a second that hooks and events
    share, so it never drains that quota however large the segment; a throttled start
    waits and is tried again. Exit status: 0 when every match was enrolled or skipped, 1
    when some failed (run again with the same --run-id to retry them) or the flow cannot
    be broadcast.
    """
    from functions.errors import CrmError
    from functions.triggers.segments import Broadcast, broadcast_flow, new_run_id

    try:
        run_id = run_id or new_run_id(flow_id)
    except CrmError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"broadcast {run_id} of {flow_id}", err=True)
    total = Broadcast(run_id=run_id)
    after: str | None = None
    bar = None

    def progress(done: int, candidates: int) -> None:
        nonlocal bar
        if bar is None:
            bar = click.progressbar(
                length=candidates, label="Broadcasting", file=sys.stderr, show_pos=True
            )
            bar.__enter__()
        bar.length = max(candidates, done)  # a chunk lists the candidates afresh
        bar.update(done - bar.pos)

    try:
        while True:
            chunk = broadcast_flow(
                flow_id,
                run_id=total.run_id,
                after=after,
                budget_seconds=CHUNK_SECONDS,
                progress=progress,
            )
            total.candidates = chunk.candidates
            total.matched += chunk.matched
            total.enrolled += chunk.enrolled
            total.skipped += chunk.skipped
            total.repeated += chunk.repeated
            total.failed.update(chunk.failed)
            after = chunk.next_after
            if after is None:
                break
    except (CrmError, KeyboardInterrupt) as exc:
        if bar is not None:
            bar.__exit__(None, None, None)
            bar = None
            click.echo(f"stopped; run again with --run-id {run_id} to finish", err=True)
        if isinstance(exc, KeyboardInterrupt):
            sys.exit(130)
        raise click.ClickException(str(exc)) from None
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    click.echo(
        f"broadcast {total.run_id} of {flow_id}: {total.candidates:,} candidates, "
        f"{total.matched:,} matched; enrolled {len(total.enrolled):,}, "
        f"skipped {total.skipped:,} (already in the flow), "
        f"already done {total.repeated:,} (by an earlier try of this run), "
        f"failed {len(total.failed):,}"
    )
    if total.failed:
        for contact_id, reason in list(total.failed.items())[:MAX_SHOWN]:
            click.echo(f"  {contact_id}: {reason}", err=True)
        if len(total.failed) > MAX_SHOWN:
            click.echo(f"  … {len(total.failed) - MAX_SHOWN:,} more", err=True)
        click.echo(f"run again with --run-id {total.run_id} to retry the failed", err=True)
        sys.exit(1)


@main.command("rollback")
@click.argument("flow_id")
@click.argument("version", type=click.IntRange(min=1))
def rollback_cmd(flow_id: str, version: int) -> None:
    """Make VERSION, an earlier published version of FLOW_ID, the one new contacts enter
    again (on the state machine it was published with). Contacts in the flow finish on the
    version they entered. The flow's activity list records it, by "cli".

    Runs against the DynamoDB the environment points at (AWS_ENDPOINT_URL for the local
    stack, AWS_REGION, CRMFLOW_TABLE_PREFIX). Exit status 1, saying why, when the version
    was never published, is live already, or does not exist.
    """
    from functions.errors import CrmError
    from functions.publish import roll_back

    try:
        done = roll_back(flow_id, version, by="cli")
    except CrmError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{flow_id}: version {done.version} is live again")


@main.command("audit")
@click.argument("flow_id")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def audit_cmd(flow_id: str, as_json: bool) -> None:
    """List what people did to FLOW_ID (published, rolled back, unpublished), newest
    first, one line each: when, and who did what."""
    from functions.audit import entries
    from functions.catalog import get_flow
    from functions.errors import CrmError

    try:
        get_flow(flow_id)
        listed = entries(flow_id)
    except CrmError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False))
        return
    if not listed:
        click.echo(f"{flow_id}: nothing done to it yet")
    for entry in listed:
        click.echo(f"{entry['at'][:19].replace('T', ' ')}  {entry['said']}")


def _mapping_pair(text: str) -> tuple[str, str]:
    column, sep, target = text.partition("=")
    if not sep or not column.strip() or not target.strip():
        raise click.BadParameter(f"'{text}' is not COLUMN=FIELD", param_hint="--map")
    return column.strip(), target.strip()


def _line_count(path: str) -> int:
    """Rows to expect, for the progress bar (a quoted field with line breaks overcounts)."""
    try:
        with open(path, "rb") as handle:
            return max(
                sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1, 1
            )
    except OSError:
        return 1  # the importer reports why it cannot read the file


def _local_store() -> AbstractContextManager[None]:
    """moto's DynamoDB in this process, with fake credentials and every CRM table."""
    import os
    from contextlib import contextmanager

    try:
        from moto import mock_aws
    except ImportError as exc:  # moto is a development dependency
        raise click.ClickException(f"--local needs the dev tools (make install): {exc}") from None

    @contextmanager
    def store():  # type: ignore[no-untyped-def]
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            os.environ.pop(name, None)  # an endpoint would send calls past the mock
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            os.environ[name] = "testing"
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        with mock_aws():
            from functions.store.tables import create_all

            create_all()
            yield

    return store()


@main.command("schema")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write to this file.")
def schema_cmd(out: str | None) -> None:
    """Print the flow document's JSON Schema."""
    _emit(schema_text(), out)


@main.command("docs")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write to this file.")
def docs_cmd(out: str | None) -> None:
    """Print the node kinds reference (Markdown), generated from the code."""
    _emit(nodes_markdown(), out)


@main.command("openapi")
@click.option("-o", "--out", type=click.Path(dir_okay=False), help="Write to this file.")
def openapi_cmd(out: str | None) -> None:
    """Print the HTTP API's OpenAPI 3.1 description (JSON), generated from the routes."""
    from functions.api.openapi import openapi_text

    _emit(openapi_text(), out)


@main.group("key")
def key_group() -> None:
    """Issue and revoke HTTP API keys.

    Keys are stored in the DynamoDB the environment points at (AWS_ENDPOINT_URL,
    AWS_REGION, CRMFLOW_TABLE_PREFIX). Use this for the first admin key; admins issue the
    rest with POST /keys.
    """


@key_group.command("issue")
@click.option("--name", required=True, help="Who or what holds the key.")
@click.option(
    "--role",
    required=True,
    metavar="ROLE",
    help="admin, marketer, sales_rep, read_only or integration.",
)
@click.option("--user", "user_id", help="The user a user key belongs to (required for sales_rep).")
@click.option(
    "--flow",
    "flows",
    multiple=True,
    metavar="FLOW_ID",
    help="Integration keys: a flow whose hooks it may call ('*' for every flow). Repeatable.",
)
@click.option("--events", is_flag=True, help="Integration keys: may post events.")
def key_issue_cmd(
    name: str, role: str, user_id: str | None, flows: tuple[str, ...], events: bool
) -> None:
    """Issue a key and print it (stdout, alone). It is not stored and cannot be shown again."""
    from functions.auth import issue_key
    from functions.errors import CrmError

    try:
        key_id, key = issue_key(name, role, user_id=user_id, flows=flows, events=events, by="cli")
    except CrmError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(key)
    click.echo(f"issued key {key_id} ({role}); store it now, it is not shown again", err=True)


@key_group.command("revoke")
@click.argument("key_id")
def key_revoke_cmd(key_id: str) -> None:
    """Revoke the key KEY_ID (the part after crm_): calls with it get 401 from now on."""
    from functions.auth import revoke_key
    from functions.errors import CrmError

    try:
        key = revoke_key(key_id)
    except CrmError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"revoked key {key.key_id} ({key.name}) at {key.revoked_at.isoformat()}")


@main.group("reports")
def reports_group() -> None:
    """Report counters (docs/reports.md).

    Works on the DynamoDB the environment points at (AWS_ENDPOINT_URL for the local stack,
    AWS_REGION, CRMFLOW_TABLE_PREFIX).
    """


@reports_group.command("rebuild")
def reports_rebuild_cmd() -> None:
    """Recount every report counter from the contacts, deals and timeline.

    For data written before the counters existed, or after a counter write failed (the
    failure was logged). It scans those tables, so it reads every record once: run it when
    writes are quiet, since counts made while it runs can be overwritten (running it again
    fixes that). Contacts that became leads or customers, and deals closed, before the
    counters existed are dated by their creation day or close date.
    """
    from pynamodb.exceptions import PynamoDBException

    from functions.reports.rebuild import items_to_read, rebuild

    try:
        total = max(items_to_read(), 1)
        with click.progressbar(
            length=total, label="Counting", file=sys.stderr, show_pos=True
        ) as bar:
            done = rebuild(progress=bar.update)
    except PynamoDBException as exc:
        raise click.ClickException(f"cannot read the CRM tables: {exc}") from None
    click.echo(f"rebuilt the report counters: {done.describe()}")


def _emit(text: str, out: str | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"wrote {out}", err=True)
    else:
        click.echo(text, nl=False)


# The local stack (`crmflow up`) and one local run (`crmflow run`): infra/local/commands.py.
main.add_command(local_commands.up_cmd)
main.add_command(local_commands.run_cmd)
for command in (aws_commands.package_cmd, aws_commands.deploy_cmd, aws_commands.teardown_cmd):
    main.add_command(command)


if __name__ == "__main__":
    main()
