"""The command line: one module per command group (compose, train, assistant, evaluate, tools),
each a thin layer over the library; cadenza.cli.main holds the app and the entry point.

Saved paths go to stdout; progress and messages to stderr. A user's mistake gets one line and
exit status 2. Heavy libraries are imported inside commands, so `cadenza --help` imports no
torch, music21 or matplotlib.
"""
