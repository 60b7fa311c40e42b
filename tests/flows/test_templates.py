"""Every shipped template: valid without warnings, compiled to the golden ASL, accepted by
statelint and by moto, and run on moto's real interpreter along every output of every
branching node to a terminal state."""

from __future__ import annotations

from pathlib import Path

import pytest
from statelint.linter import Linter

from flows.compiler import END_STATE, FAIL_STATE, FAILED_STATE, compile_flow
from flows.validate import validate
from infra.golden import golden_path
from infra.local.sfn_runner import local_sfn
from infra.local.simulate import MULTI_OUTPUT, Script, Simulator, coverage_scripts

TEMPLATES = sorted((Path(__file__).parents[2] / "flows" / "templates").glob("*.flow.json"))
BRIEF = {  # the six workflows of the brief, and the three more it names
    "email-campaign",
    "lead-capture",
    "lead-qualification",
    "sales-cycle",
    "drip-campaign",
    "customer-lifecycle",
    "support-ticket-routing",
    "purchase-thank-you",
    "renewal-reengagement",
}
ids = [t.name.removesuffix(".flow.json") for t in TEMPLATES]


def test_every_workflow_of_the_brief_ships_as_a_template() -> None:
    assert set(ids) >= BRIEF


@pytest.mark.parametrize("template", TEMPLATES, ids=ids)
def test_template_is_valid_and_documented(template: Path) -> None:
    report = validate(template.read_bytes())
    assert [str(e) for e in report.errors] == []
    assert [str(w) for w in report.warnings] == []
    flow = report.flow
    assert flow.id == template.name.removesuffix(".flow.json")
    assert len(flow.description) >= 80, "describe the trigger, the steps and what it is for"
    assert all(node.label for node in flow.all_nodes()), "every node needs a label"
    positions = {(n.position.x, n.position.y) for n in flow.all_nodes()}
    assert len(positions) == len(flow.all_nodes()), "nodes overlap on the canvas"


@pytest.mark.parametrize("template", TEMPLATES, ids=ids)
def test_template_compiles_to_its_golden_asl(template: Path) -> None:
    golden = golden_path(template)
    assert golden.exists(), f"no golden ASL for {template.name}: run `make golden`"
    assert compile_flow(template.read_bytes()).asl == golden.read_text(encoding="utf-8"), (
        f"{golden.name} is stale: run `make golden` and review the diff"
    )


@pytest.mark.parametrize("template", TEMPLATES, ids=ids)
def test_statelint_accepts_compiled_template(template: Path) -> None:
    assert Linter.validate(compile_flow(template.read_bytes()).definition) == []


@pytest.fixture(scope="module")
def sfn():
    with local_sfn(time_scale=1e-8) as local:
        yield local


@pytest.mark.moto
@pytest.mark.parametrize("template", TEMPLATES, ids=ids)
def test_template_runs_every_branch_on_moto(sfn, template: Path) -> None:
    compiled = compile_flow(template.read_bytes())
    scripts = coverage_scripts(compiled.flow)
    branching = [n for n in compiled.flow.nodes if n.kind in MULTI_OUTPUT]
    assert len(scripts) >= len(branching)
    with Simulator(sfn, compiled) as simulator:
        for script in scripts:
            run = simulator.run(script)
            assert run.status == "SUCCEEDED", (script.describe(), run.states, run.result.cause)
            final = compiled.definition["States"][run.states[-1]]
            assert final.get("End") is True, f"{run.states[-1]} is not a terminal state"
            for node, output in script.choices.items():
                assert _took(compiled, run.states, node, output), (script.describe(), run.states)
            timeouts = [e for e in run.result.history if e["type"] == "TaskTimedOut"]
            assert len(timeouts) == list(script.choices.values()).count("timed_out")


@pytest.mark.moto
@pytest.mark.parametrize("template", TEMPLATES, ids=ids)
def test_a_failing_first_action_is_recorded_and_fails_the_run(sfn, template: Path) -> None:
    compiled = compile_flow(template.read_bytes())
    with Simulator(sfn, compiled) as simulator:
        first = next(s for s in simulator.run().states if _is_action(compiled, s))
        run = simulator.run(Script(fail=frozenset({first})))
    error_edge = next(
        (e.to for e in compiled.flow.edges if e.source == first and e.output == "error"), None
    )
    if error_edge:
        assert error_edge in run.states
    else:
        assert run.status == "FAILED"
        assert run.result.error == "Crm.FlowFailed"
        assert run.states[-2:] == [FAILED_STATE, FAIL_STATE]


def _is_action(compiled, state: str) -> bool:
    return compiled.flow_kind(state) not in (None, "end", *MULTI_OUTPUT, "wait", "wait_until")


def _took(compiled, states: list[str], node: str, output: str) -> bool:
    """Whether the run left `node` by `output`: the state after it is that output's target."""
    if output == "met":
        target = f"{node}.met"
    else:
        edge = next(
            (e for e in compiled.flow.edges if e.source == node and e.output == output), None
        )
        target = edge.to if edge else END_STATE
    leaving = f"{node}.route" if f"{node}.route" in states else node
    return leaving in states and states[states.index(leaving) + 1 :][:1] == [target]
