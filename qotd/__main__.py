"""`python -m qotd …` is the `qotd` command (what the tests' subprocesses run)."""

import sys

from qotd.cli import main

sys.exit(main())
