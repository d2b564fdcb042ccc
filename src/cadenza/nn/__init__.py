"""The networks: one transformer (causal or bidirectional, rotary positions), the orderless
model built from its blocks, the checkpoint format they share, and a NumPy decoder for fast
CPU sampling."""
