"""Measuring music: music-theory checks and baselines."""
