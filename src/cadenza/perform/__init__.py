"""The performing layer: how a quantized score is played. Today every note keeps the velocity
the tokenizer writes (cadenza.tokenize.voices.VoicesConfig.velocity, 80) and the grid's timing;
the performer issue fills this package (KTH rules, a learned performer)."""
