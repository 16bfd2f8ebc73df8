"""`python -m openim` runs the CLI."""

from openim.cli import main

main()
