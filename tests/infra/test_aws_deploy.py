"""`crmflow deploy` and `crmflow teardown` against moto's server standing in for an AWS
account: the packaged template goes through the SAM transform and CloudFormation's change
sets, the flows are published to the stage by the local stack's code in a process of its
own, and the stage gets its first admin key. Then a second deploy changes nothing it
should not, and teardown deletes what publishing and the stack made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.aws.deploy import Account, connect, deploy, stack_name, teardown
from infra.local import moto_patches
from infra.local.server import MotoServer, free_port

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse AWS")

STAGE = "ci"
REGION = "eu-west-1"
ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "flows" / "templates"


@pytest.fixture(scope="module")
def account() -> Any:
    """An "account": moto's server, reached by endpoint URL as a real one would be."""
    moto_patches.apply()  # the server runs in this process: a RestApi's Body becomes methods
    server = MotoServer(free_port())
    server.start()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            "AWS_ENDPOINT_URL": server.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }.items():
            env.setenv(name, value)
        env.delenv("AWS_PROFILE", raising=False)
        try:
            yield connect(region=REGION)
        finally:
            server.stop()


@pytest.fixture(scope="module")
def deployed(account: Account, dist: Path) -> Any:
    steps: list[tuple[int, int, str]] = []
    done = deploy(
        account,
        STAGE,
        dist,
        {"Stage": STAGE, "SenderIdentity": "acme.example"},
        flows_dir=TEMPLATES,
        progress=lambda *step: steps.append(step),
        poll_seconds=0.05,
    )
    return done, steps


def test_the_stack_is_created_with_its_outputs_and_shows_progress(deployed) -> None:
    done, steps = deployed
    assert done.outcome == "created"
    assert done.outputs["ApiUrl"].endswith("/api")
    assert done.outputs["StatesRoleArn"].startswith("arn:aws:iam::")
    assert steps and steps[-1][0] == steps[-1][1]  # the bar ends full
    assert any("SES has no identity 'acme.example'" in w for w in done.warnings)


def test_the_tables_exist_with_their_indexes_and_streams(account: Account, deployed) -> None:
    dynamodb = account.client("dynamodb")
    contacts = dynamodb.describe_table(TableName=f"crmflow-{STAGE}-contacts")["Table"]
    assert contacts["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert {i["IndexName"] for i in contacts["GlobalSecondaryIndexes"]} >= {"by_owner", "by_stage"}
    from functions.store.models import ALL_MODELS

    names = set(dynamodb.list_tables()["TableNames"])
    assert {f"crmflow-{STAGE}-{m.Meta.suffix}" for m in ALL_MODELS} <= names


def test_each_function_runs_as_its_own_role_and_streams_feed_the_triggers(
    account: Account, deployed
) -> None:
    lambda_ = account.client("lambda")
    functions = {
        f["FunctionName"]: f
        for f in lambda_.list_functions()["Functions"]
        if f["FunctionName"].startswith(f"crmflow-{STAGE}-")
    }
    assert f"crmflow-{STAGE}-send_email" in functions
    assert len({f["Role"] for f in functions.values()}) == len(functions)
    assert {f["Runtime"] for f in functions.values()} == {"python3.11"}
    mappings = lambda_.list_event_source_mappings()["EventSourceMappings"]
    by_function = {m["FunctionArn"].rsplit(":", 1)[1]: m["EventSourceArn"] for m in mappings}
    assert (
        f":table/crmflow-{STAGE}-contacts/stream/"
        in by_function[f"crmflow-{STAGE}-contact_changes"]
    )
    assert f":table/crmflow-{STAGE}-deals/stream/" in by_function[f"crmflow-{STAGE}-deal_changes"]


def test_the_flows_are_published_as_state_machines_that_invoke_deployed_functions(
    account: Account, deployed
) -> None:
    done, _ = deployed
    shipped = sorted(p.name.removesuffix(".flow.json") for p in TEMPLATES.glob("*.flow.json"))
    assert sorted(done.published) == shipped
    sfn = account.client("stepfunctions")
    machines = [
        m for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith("crmflow-ci-")
    ]
    assert len(machines) == len(shipped)
    deployed_functions = {
        f["FunctionArn"] for f in account.client("lambda").list_functions()["Functions"]
    }
    for machine in machines:
        described = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
        assert described["roleArn"] == done.outputs["StatesRoleArn"]
        invoked = {
            s["Resource"]
            if "FunctionName" not in s.get("Parameters", {})
            else s["Parameters"]["FunctionName"]
            for s in _task_states(json.loads(described["definition"]))
        }
        assert invoked and invoked <= deployed_functions, invoked - deployed_functions


def test_the_stage_gets_one_first_admin_key(account: Account, deployed) -> None:
    done, _ = deployed
    assert done.key and done.key.startswith("crm_")
    items = account.client("dynamodb").scan(TableName=f"crmflow-{STAGE}-api-keys")["Items"]
    assert [i["role"]["S"] for i in items] == ["admin"]


def test_deploying_again_publishes_nothing_twice_and_issues_no_second_key(
    account: Account, deployed, dist: Path
) -> None:
    again = deploy(
        account, STAGE, dist, {"Stage": STAGE}, flows_dir=TEMPLATES, poll_seconds=0.05
    )  # the sender identity is not given again: the stack keeps the first one
    assert again.outcome in {"updated", "unchanged"}
    assert again.published == [] and again.key is None
    stack = account.client("cloudformation").describe_stacks(StackName=stack_name(STAGE))
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Stacks"][0]["Parameters"]}
    assert parameters["SenderIdentity"] == "acme.example"


def test_teardown_deletes_the_flows_and_the_stack_and_keeps_the_data_unless_asked(
    account: Account, deployed
) -> None:
    deleted = teardown(account, STAGE, delete_data=False, poll_seconds=0.05)
    assert f"stack {stack_name(STAGE)}" in deleted
    sfn = account.client("stepfunctions")
    assert not [
        m for m in sfn.list_state_machines()["stateMachines"] if m["name"].startswith("crmflow-ci-")
    ]
    dynamodb = account.client("dynamodb")
    assert f"crmflow-{STAGE}-contacts" in dynamodb.list_tables()["TableNames"]  # kept
    deleted = teardown(account, STAGE, delete_data=True, poll_seconds=0.05)
    assert f"table crmflow-{STAGE}-contacts" in deleted
    assert not [t for t in dynamodb.list_tables()["TableNames"] if t.startswith("crmflow-ci-")]


def test_without_credentials_deploy_stops_before_doing_anything(tmp_path: Path) -> None:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("AWS_")
    } | {
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "infra.cli", "deploy", "--stage", "ci", "--region", REGION,
         "--out", str(tmp_path / "dist")],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "no AWS credentials found, so nothing was deployed" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "dist").exists()  # not even packaged


def test_a_first_deploy_without_a_sender_identity_says_what_to_give(
    account: Account, dist: Path
) -> None:
    from infra.errors import DeployError

    with pytest.raises(DeployError, match="needs --sender"):
        deploy(account, "other", dist, {"Stage": "other"}, flows_dir=None)


def _task_states(definition: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for state in definition.get("States", {}).values():
        if state.get("Type") == "Task":
            found.append(state)
        for branch in state.get("Branches", []):
            found += _task_states(branch)
        if "Iterator" in state:
            found += _task_states(state["Iterator"])
    return found


def test_the_deploy_command_saves_the_first_key_privately_and_says_where_the_api_is(
    account: Account, tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from infra.cli import main

    key_file = tmp_path / "keys" / "cli.api-key"
    result = CliRunner().invoke(
        main,
        ["deploy", "--stage", "cli", "--region", REGION, "--sender", "acme.example",
         "--no-flows", "--key-file", str(key_file), "--out", str(tmp_path / "dist")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "✓ stack crmflow-cli created" in result.output
    assert "API: https://" in result.output and "flows published: none new" in result.output
    assert key_file.read_text(encoding="utf-8").startswith("crm_")
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only
    result = CliRunner().invoke(main, ["teardown", "--stage", "cli", "--region", REGION, "--yes"])
    assert result.exit_code == 0, result.output
    assert "deleted stack crmflow-cli" in result.output
    assert "kept the tables crmflow-cli-*" in result.output
