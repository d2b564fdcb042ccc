"""Where music comes from: built-in corpora and users' folders (corpus, with a parse cache and
hash splits) and the benchmark data sets (benchmarks)."""
