"""crmflow's editor: `streamlit run editor/app.py` (the local stack starts it on
http://127.0.0.1:8501). It talks to the HTTP API (editor/client.py says why)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `streamlit run` puts editor/ on the path, not the project
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="crmflow", page_icon="🔀", layout="wide")
pages = st.navigation(
    [
        st.Page("pages/page_flows.py", title="Flows", icon="🗂️", default=True),
        st.Page("pages/page_designer.py", title="Designer", icon="🔀"),
        st.Page("pages/page_contacts.py", title="Contacts", icon="👥"),
        st.Page("pages/page_reports.py", title="Reports", icon="📊"),
        st.Page("pages/page_outbox.py", title="Outbox", icon="📬"),
    ],
    position="top",  # five pages fit across the top: the canvas gets the sidebar's width
)
pages.run()
