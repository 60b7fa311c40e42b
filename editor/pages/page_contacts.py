"""Contacts page: see editor/contacts_page.py."""

from editor.contacts_page import main

main()
