"""Training: the settings (config), one loop for every family (loop: fit, schedule, checkpoints,
time budget, early stopping), one run skeleton (run: start or resume, progress, card), what a
run's files record (records), and data-parallel training (distributed)."""
