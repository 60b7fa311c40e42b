"""Outbox page: see editor/outbox_page.py."""

from editor.outbox_page import main

main()
