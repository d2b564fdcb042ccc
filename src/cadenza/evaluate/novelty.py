"""Is it copied? Transposition-invariant matching of generated pieces against a reference set.

A piece's melody (its top line) becomes a sequence of (interval to the next note in semitones,
its onset distance in sixteenths): the same tune in any key gives the same sequence. The index
holds every K-note window of every reference piece; the longest copied span of a generated
piece is its longest run of consecutive windows found in the index (in notes). A 4-bar window
of the whole texture (every note, pitches relative to the window's lowest) is matched exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cadenza.evaluate.measures import STEPS_PER_BEAT
from cadenza.score import Score
from cadenza.theory import top_line

K = 6  # notes per indexed window (5 intervals)
PLAGIARISM_NOTES = 24  # a copied melodic span this long (notes) is flagged


def melody_steps(score: Score) -> list[tuple[int, int]]:
    line = top_line([n for p in score.parts if not p.is_drum for n in p.notes])
    return [
        (b.pitch - a.pitch, round((b.start_beats - a.start_beats) * STEPS_PER_BEAT)) for a, b in zip(line, line[1:])
    ]


def four_bar_windows(score: Score) -> list[tuple]:
    notes = [n for p in score.parts if not p.is_drum for n in p.notes]
    if not notes:
        return []
    bar = score.meter.bar_beats or 4.0
    span = 4 * bar
    out = []
    for k in range(int(score.end_beats // span)):
        inside = [n for n in notes if k * span <= n.start_beats < (k + 1) * span]
        if not inside:
            continue
        low = min(n.pitch for n in inside)
        out.append(
            tuple(
                sorted(
                    (
                        round((n.start_beats - k * span) * STEPS_PER_BEAT),
                        n.pitch - low,
                        round(n.duration_beats * STEPS_PER_BEAT),
                    )
                    for n in inside
                )
            )
        )
    return out


@dataclass
class ReferenceIndex:
    melodic: set = field(default_factory=set)
    windows: set = field(default_factory=set)

    @classmethod
    def build(cls, scores: list[Score]) -> ReferenceIndex:
        index = cls()
        for s in scores:
            steps = melody_steps(s)
            index.melodic.update(tuple(steps[i : i + K - 1]) for i in range(len(steps) - K + 2))
            index.windows.update(four_bar_windows(s))
        return index

    def novelty(self, score: Score) -> dict:
        """longest_copied_notes, copied_window_share (4-bar windows found in the reference),
        plagiarism (1.0 when the copied span reaches PLAGIARISM_NOTES or any 4-bar window matches)."""
        steps = melody_steps(score)
        hits = [tuple(steps[i : i + K - 1]) in self.melodic for i in range(len(steps) - K + 2)]
        longest = run = 0
        for h in hits:
            run = run + 1 if h else 0
            longest = max(longest, run)
        copied = longest + K - 1 if longest else 0
        windows = four_bar_windows(score)
        share = sum(w in self.windows for w in windows) / len(windows) if windows else 0.0
        return {
            "longest_copied_notes": float(copied),
            "copied_window_share": share,
            "plagiarism": float(copied >= PLAGIARISM_NOTES or share > 0),
        }
