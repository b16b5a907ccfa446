import sys

from qotd.cli import main

sys.exit(main())
