"""The command line: argument parsing, the commands, the demo and the process runner.

The top of the import graph: it may use every other part of kinode.
"""

from kinode.cli.entry import main

__all__ = ["main"]
