"""docs/deploy.md's cost section is generated (python -m infra.aws.costs) and current."""

from __future__ import annotations

from infra.aws.costs import BEGIN, DOC, END, costs_markdown


def test_the_cost_section_of_the_deploy_guide_is_current() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END
    assert section == costs_markdown(), "docs/deploy.md is stale: run `make schema`"


def test_the_fixed_cost_counts_every_alarm_metric() -> None:
    from infra.aws.access import FUNCTION_NEEDS
    from infra.aws.costs import fixed_monthly

    alarms = dict(fixed_monthly())
    (what,) = [w for w in alarms if w.startswith("CloudWatch alarms")]
    assert f"({2 * len(FUNCTION_NEEDS) + 2} metrics)" in what


def test_the_readme_quotes_the_current_monthly_cost() -> None:
    from infra.aws.costs import ROOT, fixed_monthly

    total = sum(usd for _, usd in fixed_monthly())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"${total:.2f} a month" in readme, "README.md's Deploy to AWS quotes an old cost"
