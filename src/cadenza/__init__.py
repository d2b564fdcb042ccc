"""Cadenza: learn music from scores and MIDI with neural networks and write new music."""

__version__ = "0.1.0"
