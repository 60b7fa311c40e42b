"""`crmflow package`, `crmflow deploy` and `crmflow teardown`: crmflow on an AWS account.
Registered on the `crmflow` group by infra/cli.py. See docs/deploy.md."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "flows" / "templates"


def _stage_option(help_text: str) -> Any:
    def check(ctx: click.Context, param: click.Parameter, value: str) -> str:
        from infra.aws.template import STAGE_PATTERN

        if not re.match(STAGE_PATTERN, value):
            raise click.BadParameter("use lowercase letters, digits and -, starting with a letter")
        return value

    return click.option("--stage", default="dev", show_default=True, callback=check, help=help_text)


_out_option = click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Where sam.json and deployment.zip are written.",
)
_account_options = [
    click.option("--profile", help="AWS profile from ~/.aws/config (default: the environment)."),
    click.option("--region", help="AWS region, e.g. eu-west-1 (default: the profile's)."),
]


def _with(options: list[Any]) -> Any:
    def decorate(function: Any) -> Any:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


@click.command("package")
@_stage_option("The deployment's name: tables are crmflow-<stage>-…, functions crmflow-<stage>-….")
@_out_option
def package_cmd(stage: str, out: Path) -> None:
    """Build the AWS deployment: chalice package's SAM template with crmflow's resources
    merged in (tables, roles, alarms, …) and the zip, its dependencies fetched for Lambda's
    Python."""
    _package(stage, out)


@click.command("deploy")
@_stage_option("The deployment's name: the stack is crmflow-<stage>.")
@_with(_account_options)
@click.option(
    "--sender",
    help="SES identity emails are sent from: a verified domain (acme.com) or address. "
    "Needed the first time; kept afterwards.",
)
@click.option("--notify-from", help="From address of notifications to owners (within --sender).")
@click.option(
    "--http-allow", help="Private hosts or networks HTTP steps may reach (comma separated)."
)
@click.option("--public-url", help="The API's base URL for email links, on a custom domain.")
@click.option("--alarm-email", help="Where alarms are emailed (confirm the subscription).")
@click.option(
    "--flows",
    "flows_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=TEMPLATES,
    show_default="flows/templates",
    help="Publish the *.flow.json here that the stage does not have yet.",
)
@click.option("--no-flows", is_flag=True, help="Publish no flows.")
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where the stage's first admin API key is saved [default: .crmflow/<stage>.api-key].",
)
@_out_option
def deploy_cmd(
    stage: str,
    profile: str | None,
    region: str | None,
    sender: str | None,
    notify_from: str | None,
    http_allow: str | None,
    public_url: str | None,
    alarm_email: str | None,
    flows_dir: Path,
    no_flows: bool,
    key_file: Path | None,
    out: Path,
) -> None:
    """Deploy crmflow to an AWS account as the CloudFormation stack crmflow-<stage>, then
    publish the flows and issue the stage's first admin API key.

    Uses your AWS credentials (--profile, or the environment); without them it stops
    before doing anything. Run it again to update: what you do not give again is kept."""
    from infra.aws.deploy import connect, deploy
    from infra.errors import DeployError

    try:
        account = connect(profile, region)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"deploying stage {stage} to account {account.account_id} in {account.region}")
    package_dir = _package(stage, out)
    parameters = {
        "Stage": stage,
        "SenderIdentity": sender,
        "NotifyFrom": notify_from,
        "HttpAllow": http_allow,
        "PublicUrl": public_url,
        "AlarmEmail": alarm_email,
    }
    with _StackProgress("deploying") as progress:
        try:
            done = deploy(
                account,
                stage,
                package_dir,
                parameters,
                flows_dir=None if no_flows else flows_dir,
                progress=progress,
            )
        except DeployError as exc:
            raise click.ClickException(str(exc)) from None
    for warning in done.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)
    click.secho(f"✓ stack {done.stack} {done.outcome}", fg="green")
    click.echo(f"  API: {done.outputs.get('ApiUrl', '?')}")
    click.echo(f"  alarms: SNS topic {done.outputs.get('AlarmTopicArn', '?')}")
    published = ", ".join(done.published) or "none new"
    click.echo(f"  flows published: {published}")
    if done.key:
        path = key_file or Path(".crmflow") / f"{stage}.api-key"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(done.key, encoding="utf-8")
        click.echo(f"  admin API key saved in {path} (shown nowhere else; keep it secret)")
        click.echo(
            f'  try: curl -H "Authorization: Bearer $(cat {path})" '
            f"{done.outputs.get('ApiUrl', '')}/flows"
        )


@click.command("teardown")
@_stage_option("The deployment to delete: the stack crmflow-<stage>.")
@_with(_account_options)
@click.option(
    "--delete-data",
    is_flag=True,
    help="Also delete the stage's tables (every contact, deal and flow) and its logs, "
    "which the stack otherwise keeps.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def teardown_cmd(
    stage: str, profile: str | None, region: str | None, delete_data: bool, yes: bool
) -> None:
    """Delete a deployed stage: its flows' state machines and the stack crmflow-<stage>.
    The tables and logs are kept unless --delete-data is given."""
    from infra.aws.deploy import connect, teardown
    from infra.errors import DeployError

    try:
        account = connect(profile, region)
    except DeployError as exc:
        raise click.ClickException(str(exc)) from None
    what = "the stack, its flows and ALL ITS DATA" if delete_data else "the stack and its flows"
    where = f"stage {stage} in account {account.account_id} ({account.region})"
    if not yes:
        click.confirm(f"Delete {what} of {where}?", abort=True)
    with _StackProgress("deleting") as progress:
        deleted = teardown(account, stage, delete_data=delete_data, progress=progress)
    for item in deleted:
        click.echo(f"  deleted {item}")
    if not delete_data:
        click.echo(f"  kept the tables crmflow-{stage}-* and the logs (--delete-data removes them)")
    click.secho(f"✓ stage {stage} torn down", fg="green")


def _package(stage: str, out: Path) -> Path:
    from infra.aws.package import RUNTIME, package
    from infra.errors import PackageError

    click.echo(
        f"packaging stage {stage} for {RUNTIME} (fetching Lambda's wheels from PyPI)…", err=True
    )
    try:
        done = package(stage, out)
    except PackageError as exc:
        raise click.ClickException(str(exc)) from None
    size = (done / "deployment.zip").stat().st_size / 1e6
    click.echo(f"wrote {done / 'sam.json'} and {done / 'deployment.zip'} ({size:.1f} MB)")
    return done


class _StackProgress:
    """A progress bar over the stack's resources, drawn once CloudFormation reports."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.shown = 0

    def __enter__(self) -> _StackProgress:
        return self

    def __call__(self, done: int, total: int, latest: str) -> None:
        if self.bar is None:
            self.bar = click.progressbar(
                length=max(total, 1), label=self.label, file=sys.stderr, show_pos=True
            )
            self.bar.__enter__()
        self.bar.label = f"{self.label} {latest[:50]}"
        self.bar.update(max(0, done - self.shown))
        self.shown = max(self.shown, done)

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
