"""Flows page: see editor/flows_page.py."""

from editor.flows_page import main

main()
