"""The Composer (compose/composer.py) with the shipped chorale model: what users ask of it."""

from cadenza import hub
from cadenza.plan.rules import build_rules


def test_a_fixed_note_keeps_the_length_the_user_gave():
    """--fix 4:1:soprano=A4/2 is a half note: the sampler may not hold it on (seeds 1-3 held it
    for 3 and 4 beats before)."""
    c = hub.load("chorales", expect="voices")
    for seed in (1, 2, 3):
        rules = build_rules(None, [], ["4:1:soprano=A4/2"], None, c.voice_names)
        score = c.generate(bars=8, key="D major", seed=seed, rules=rules)
        [note] = [n for n in score.parts[0].notes if n.start_beats == 12.0]
        assert (note.pitch, note.duration_beats) == (69, 2.0), seed
