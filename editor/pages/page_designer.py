"""Designer page: see editor/designer.py."""

from editor.designer import main

main()
