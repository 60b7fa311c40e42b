"""Reports page: see editor/reports_page.py."""

from editor.reports_page import main

main()
