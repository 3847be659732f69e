"""`python -m kinode`: the same entry point as the `kinode` command."""

import sys

from kinode.cli.entry import main

sys.exit(main())
