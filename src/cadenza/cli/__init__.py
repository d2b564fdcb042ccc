"""The command line: one module per command group, each a thin layer over the library.

Saved paths go to stdout; progress and messages to stderr. A user's mistake gets one line and
exit status 2. Heavy libraries are imported inside commands, so `cadenza --help` imports no
torch, music21 or matplotlib.
"""
from cadenza.cli.main import app, main

__all__ = ["app", "main"]
