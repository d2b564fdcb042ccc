"""Training: the settings (config), one loop for every family (loop: fit, schedule, checkpoints,
time budget, early stopping), one run skeleton (run: start or resume, progress, card)."""
