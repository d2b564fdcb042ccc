"""Writing notes: the causal sampler, the Gibbs sampler, and the two objects users hold, the
Composer (generate, continue) and the Harmonizer (harmonize, infill)."""
