"""`cadenza render` and `cadenza models` (cadenza.cli.tools) as a user runs them."""

import pytest

from conftest import make_score, one_line_error, run_cli


def test_render_uses_a_soundfont(tmp_path):
    import soundfile

    from cadenza.io.midi import write_midi

    write_midi(make_score(bars=1), tmp_path / "in.mid")
    run_cli("render", str(tmp_path / "in.mid"), "--out", str(tmp_path / "in.wav"), check=True)
    audio, rate = soundfile.read(tmp_path / "in.wav")
    assert rate == 44100 and abs(audio).max() > 0.05


@pytest.mark.slow  # two CLI runs
def test_models_lists_shipped_models():
    proc = run_cli("models", check=True)
    assert "chorales" in proc.stdout and "folk" in proc.stdout and "harmonize, infill" in proc.stdout
    # piped, the table keeps to 120 columns (a newcomer's ran to 160 and cut the folders) and the
    # folders are named in full below it
    assert max(len(line) for line in proc.stdout.splitlines() if line[:1] in "┏┃┡│└") <= 120
    from cadenza.hub import shipped_models

    assert f"in {shipped_models()}: chorales, folk" in proc.stdout
    one_line_error(run_cli("generate", "--model", "harmonizer"), "cadenza harmonize")


@pytest.mark.slow  # three CLI runs
def test_models_shows_one_models_whole_card_and_names_an_unknown_one_in_one_line():
    """The list is a table (a newcomer found every card's opening printed after it); a name, in
    any case, shows that model's card in full."""
    listed = run_cli("models", check=True).stdout
    assert "## Training" not in listed and "cadenza models NAME" in listed
    card = run_cli("models", "Piano", check=True).stdout  # as a newcomer types it
    assert card.startswith("# piano") and "## Training" in card and "CC BY-NC-SA" in card
    one_line_error(run_cli("models", "pianoo"), "no model named 'pianoo'")
