"""Cadenza Studio: a local web page, an HTTP API under /api, and (later) the radio.

The API runs the same `cadenza` commands a user types, as child processes in a bounded queue
(jobs.py), with the options of those commands (commands.py), and keeps every piece a job
writes, with its history of versions, in a folder on disk (store.py). app.py is the web app.
"""
