"""The editor uses no Streamlit API past its removal date: st.components.v1.html (and the
rest of components v1) was deprecated, with a removal date that has passed."""

from __future__ import annotations

import ast
from pathlib import Path

EDITOR = Path(__file__).resolve().parents[2] / "editor"


def test_the_editor_imports_nothing_of_streamlit_components_v1() -> None:
    found = []
    for path in EDITOR.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            found += [f"{path.name}: {n}" for n in names if n.startswith("streamlit.components.v1")]
    assert not found, found
