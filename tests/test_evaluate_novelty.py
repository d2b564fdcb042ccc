"""cadenza.evaluate.novelty: copies of the reference melodies are found, transposed or not."""

from cadenza.evaluate.novelty import ReferenceIndex
from cadenza.score import transpose
from conftest import melody_of as melody


def test_novelty_flags_a_transposed_copy():
    reference = [melody([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 62] * 2)]
    index = ReferenceIndex.build(reference)
    copy = index.novelty(transpose(reference[0], 5))
    assert copy["longest_copied_notes"] == 32 and copy["copied_window_share"] == 1.0 and copy["plagiarism"] == 1.0
    fresh = index.novelty(melody([60, 67, 64, 72, 60, 65, 62, 71, 60, 69, 64, 67, 60, 67, 64, 72]))
    assert fresh["plagiarism"] == 0.0 and fresh["longest_copied_notes"] < 6
