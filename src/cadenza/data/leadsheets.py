"""The lead-sheet data sets the benchmarks measure on, and their licenses. The lead sheets
themselves (the tunes with chord symbols of a folder, file or corpus, each in one split by
tune) are read by cadenza.data.corpus.lead_sheets.
"""

from __future__ import annotations

LICENSES = {
    "nottingham-abc": "GPL-3.0 (the Nottingham Music Database, cleaned by Jukedeck: ../shared/data/nottingham-abc)",
}


def measured_on(source: str) -> bool:
    """Whether `source` is a data set benchmarks/leadsheet_quality.py measures on (LICENSES
    names them), whose test split must stay out of training; a user's own tunes are not."""
    return any(name in source for name in LICENSES)


def license_of(source: str) -> str:
    """The license of a known data set named in `source`, else a reminder that it is the user's."""
    for name, text in LICENSES.items():
        if name in source:
            return text
    return "the user's own data (its license is theirs to state)"
