"""``python -m studies.cli``: the `mixopt` command (what trial processes call)."""

from studies.cli import main

main()
