"""Regenerate the golden ASL of every template (`make golden`); review the diff before committing."""

from __future__ import annotations

import argparse
from pathlib import Path

from flows.compiler import compile_flow

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "flows" / "templates"
GOLDEN = ROOT / "tests" / "golden"


def golden_path(template: Path) -> Path:
    return GOLDEN / template.name.replace(".flow.json", ".asl.json")


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for template in sorted(TEMPLATES.glob("*.flow.json")):
        target = golden_path(template)
        target.write_text(compile_flow(template.read_bytes()).asl, encoding="utf-8")
        print(f"wrote {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
