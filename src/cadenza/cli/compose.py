"""`cadenza generate` and `cadenza continue`: new music from a voices model, a lead sheet model
or a piano model."""

from __future__ import annotations

import re
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Optional

import typer

from cadenza.cli.common import (
    ALLOW_PARALLELS,
    EXPRESSIVENESS,
    FIXED_CELLS,
    FIXES,
    FORMATS_HELP,
    FREE_ENDING,
    PERFORMER,
    RANGES,
    SCALE,
    SECTION_CADENCES,
    SECTION_KEYS,
    TUNE,
    about_file,
    key_for_scale,
    key_option,
    output_stems,
    performing,
    pick_seed,
    progress_bars,
    read_piece,
    record_rules,
    rules_from_options,
    say,
    seeds_text,
    settings_and_record,
    unplayed,
    with_config_options,
)
from cadenza.compose.settings import SamplingSettings

COMPOSER = typer.Option(
    None,
    "--composer",
    help="a piano model's composer to write like (`cadenza models` lists them; 'none': no one's) [default: none]",
)
CONTINUED_AFTER = typer.Option(
    None,
    "--composer",
    help="a piano model's composer to write like (`cadenza models` lists them; 'none': no one's) "
    "[default: the first the prompt's credit names, if the model knows them; else none]",
)


def register(app: typer.Typer) -> None:
    app.command()(generate)
    app.command("continue")(continue_)


@with_config_options({"sampling": SamplingSettings}, skip=("seed",))
def generate(
    model: Optional[str] = typer.Option(
        None,
        help="model name (see `cadenza models`) or folder [default: chorales, or the model an output's JSON "
        "given to --plan names]",
    ),
    bars: Optional[int] = typer.Option(None, help="length in bars [default: 16]"),
    seconds: Optional[float] = typer.Option(None, help="length in seconds, instead of --bars"),
    key: Optional[str] = typer.Option(
        None, help="e.g. 'D major', 'F# minor', 'd' (lower case: minor) [default: drawn from the training data]"
    ),
    meter: Optional[str] = typer.Option(
        None,
        help="e.g. 4/4, 3/4, 6/8 [default: drawn by the model's plan model as often as its corpus's pieces of "
        "this length are in it, or after a piano model's --composer as often as that composer's pieces are; with "
        "--seconds, --no-plan or --chords, or no plan model: the model's most common]",
    ),
    tempo: float = typer.Option(120.0, help="quarter notes per minute"),
    seed: Optional[int] = typer.Option(None, help="random seed [default: random, printed]; variation i uses seed+i"),
    n: int = typer.Option(1, "--n", help="number of alternatives"),
    allow_parallels: bool = ALLOW_PARALLELS,
    free_ending: bool = FREE_ENDING,
    scale: Optional[str] = SCALE,
    range_: list[str] = RANGES,
    fix: list[str] = FIXES,
    fixed_cells: Optional[Path] = FIXED_CELLS,
    form: Optional[str] = typer.Option(
        None,
        help="the form: sections as LABEL[']BARS[@KEY], e.g. 'A8 A8 B8 B8', 'a2 a2 b2 c2 d2', \"A8 B8 A'8\" "
        "(varied return), 'A8 B8 A8@D' (transposed return); sets the length",
    ),
    keys: Optional[str] = SECTION_KEYS,
    cadences: Optional[str] = SECTION_CADENCES,
    plan: Optional[Path] = typer.Option(
        None, help="a plan file (TOML or JSON, as `cadenza analyze` and `cadenza plan` write), instead of --form"
    ),
    no_plan: bool = typer.Option(
        False, "--no-plan", help="no form: without --form or --plan the model's planner draws one, unless this is given"
    ),
    chords: Optional[str] = typer.Option(
        None,
        help="a lead sheet: chord symbols the melody is written over, one bar per '|' ('D | G A7 | D Bm | Em A7 | D', "
        "'%' repeats a bar; repeated to fill a longer form), or a file of them; or 'auto': chord symbols written for "
        "the melody afterwards by --chords-model",
    ),
    chords_model: Optional[str] = typer.Option(
        None,
        help="the chords model of --chords auto (name or folder; a leadsheet model's chords part) [default: the "
        "--model's own chords part when it is a leadsheet model, else leadsheet]",
    ),
    composer_: Optional[str] = COMPOSER,
    formats: str = typer.Option(
        "mid,musicxml,wav,png",
        help=FORMATS_HELP,
    ),
    performer: str = PERFORMER,
    expressiveness: float = EXPRESSIVENESS,
    out: Optional[str] = typer.Option(
        None, help="output stem: writes STEM.mid, STEM.wav ...; a FOLDER/ gets MODEL-seedN.* [default: out/MODEL-seedN]"
    ),
    force: bool = typer.Option(False, help="overwrite existing outputs"),
    quiet: bool = typer.Option(False, help="no messages on stderr"),
    settings: dict = None,  # type: ignore[assignment]
):
    """Write new music with a trained model, following a form when given one."""
    from cadenza import hub
    from cadenza.chords import written_text
    from cadenza.compose import composer
    from cadenza.errors import MusicError, OptionError
    from cadenza.plan.form import load_plan, parse_form, recorded_model, with_options
    from cadenza.render import check_outputs, parse_formats, write_outputs
    from cadenza.score import MODES, parse_meter
    from cadenza.theory import key_name

    fmts = parse_formats(formats, out)
    performing(performer, expressiveness, 0)  # checks the options before any work
    if n < 1:
        raise OptionError(f"--n must be at least 1, not {n}")
    if bars is not None:
        composer.check_bars(bars, "--bars")
    composer.check_tempo(tempo)
    settings_and_record(SamplingSettings, settings)  # checks the values before any work
    key_obj = key_for_scale(key_option(key), scale)
    try:
        meter_obj = parse_meter(meter) if meter else None
    except MusicError as e:
        raise OptionError(f"--meter: {e}") from None
    the_plan = None
    away = ""  # a warning: --keys ends the piece away from home
    if plan is not None and form is not None:
        raise OptionError("give --form or --plan, not both")
    if no_plan and (plan is not None or form is not None):
        raise OptionError("--no-plan asks for music without a form: give it without --form and --plan")
    if (keys or cadences) and plan is None and form is None:
        raise OptionError("--keys and --cadences name each section of a --form (or --plan): give one")
    if plan is not None or form is not None:
        if seconds is not None:
            raise OptionError("a form sets the length: give --form (or --plan) without --seconds")
        asked = load_plan(plan) if plan is not None else parse_form(form or "")
        if plan is not None and key_obj is not None and asked.key is not None:
            # --key (or --scale) moves a plan file, its sections with it
            asked = asked.moved_to(key_obj, "--key" if key else "--scale")
        source = str(plan) if plan is not None else f"--form {form!r}"
        the_plan = with_options(asked, keys, cadences, home=key_obj, source=source)
        if the_plan.bars > composer.MAX_BARS:
            raise OptionError(f"{source} is {the_plan.bars} bars long: give at most {composer.MAX_BARS} bars")
        if bars is not None and bars != the_plan.bars:
            raise OptionError(f"--bars {bars} but the form has {the_plan.bars} bars: give one or the other")
        if the_plan.key is not None and key_obj is not None and the_plan.key != key_obj:
            raise OptionError(f"--key {key_obj} but the plan's home key is {the_plan.key}: give one or the other")
        if the_plan.meter and meter_obj is not None and the_plan.meter != str(meter_obj):
            raise OptionError(f"--meter {meter_obj} but the plan's meter is {the_plan.meter}: give one or the other")
        last = the_plan.key_of(len(the_plan.sections) - 1)
        if keys and the_plan.key is not None and last is not None and not last.same_key(the_plan.key):
            away = f"--keys: the piece ends in {key_name(last, the_plan.key)}, away from its home key {the_plan.key} "
            away += "(end --keys on it to close at home)"
        if the_plan.key is not None and not (key_obj is not None and key_obj.modal):  # a plan names no mode
            key_obj = the_plan.key
        meter_obj = parse_meter(the_plan.meter) if the_plan.meter else meter_obj
        bars = the_plan.bars
    if model is None:  # another piece like an output: by the model that wrote it
        model = (recorded_model(plan) if plan is not None else None) or "chorales"
    c, piano, composer_ = _writer(
        model, composer_, scale, range_, fix, fixed_cells, allow_parallels, chords, chords_model
    )
    parts = {} if piano else hub.parts_of(model)
    name = hub.find_model(model).name  # the model asked for: a leadsheet model's, not its part's
    if parts and chords is None:  # a leadsheet model writes its melody's chord symbols
        chords = "auto"
    if chords is not None and chords.strip() != "auto" and len(c.voice_names) > 1:
        raise OptionError(
            f"--chords writes a melody over chords: model {c.name} writes {len(c.voice_names)} voices; use a "
            "one-voice model (folk)"
        )
    chorder, progression = None, None
    if chords is not None and chords.strip() == "auto":
        chords_model = chords_model or _chords_model_of(model)
        chorder = hub.load(chords_model, expect="chords")
    elif chords is not None:
        progression, bars, key_obj = _progression(chords, meter_obj or c.default_meter(), bars, key_obj, seconds)
    given = {k: settings.get(k) for k in ("temperature", "top_p", "top_k")}  # the rest: the model's defaults
    _, recorded = settings_and_record(SamplingSettings, asdict(c.sampling(**given, seed=0)))
    if piano:  # before anything is drawn or said
        c.check_keys([key_obj], "--key" if key else "--scale")
        if the_plan is not None:
            named = "--keys" if keys else f"{plan}:" if plan is not None else f"--form {form!r}:"
            c.check_keys(the_plan.section_keys(), named)
    if scale is None and key_obj is not None and key_obj.modal and not piano:
        scale = str(key_obj)  # a church mode keeps to its notes (and the leading tone a cadence asks for)
    rules = None if piano else rules_from_options(scale, range_, fix, fixed_cells, c.voice_names)
    seed = pick_seed(seed)
    stems = output_stems(out, lambda i: f"{name}-seed{seed + i}", n)
    check_outputs(stems, fmts, force, performing(performer, expressiveness, seed))
    if bars is not None and seconds is not None:
        raise OptionError("give --bars or --seconds, not both")
    m = meter_obj or c.default_meter()
    length = composer.bars_for_seconds(seconds, m, tempo) if seconds is not None else (bars or 16)
    if seconds is not None and length > composer.MAX_BARS:
        raise OptionError(
            f"--seconds {seconds:g} makes {length} bars of {m} at {tempo:g} bpm; at most {composer.MAX_BARS}"
        )
    modes = the_plan.home_modes() if the_plan is not None else MODES  # a drawn home fits the plan's bIII: major
    with progress_bars(quiet or length * n < 100) as progress:  # a long piece shows its bars as they come
        drawing_meter = meter_obj is None and seconds is None and not no_plan and progression is None
        for i, stem in enumerate(stems):
            s = seed + i
            if drawing_meter:
                m = c.meter_for(length, s, composer_)  # as the corpus's pieces this long, or the composer's, are in
            home = key_obj or (c.default_key(s, composer_, modes) if piano else c.default_key(s, modes))
            piece_plan = None if no_plan else c.plan_for(the_plan, length, m, home, s)
            if piano:
                score = c.generate(
                    bars=length,
                    key=home,
                    meter=m,
                    tempo_bpm=tempo,
                    **given,
                    seed=s,
                    composer=composer_,
                    plan=piece_plan,
                    final_chord=not free_ending,
                    on_bar=lambda done, total, stem=stem: progress(f"writing {stem}", done, total),
                )
            else:
                score = c.generate(
                    bars=length,
                    on_cell=lambda step, voice, token, stem=stem, bar_steps=c.tokenizer.steps_per_bar(m): (
                        progress(f"writing {stem}", step // bar_steps, length)
                        if voice == 0 and step % bar_steps == 0
                        else None
                    ),
                    key=key_obj,
                    meter=m,
                    tempo_bpm=tempo,
                    **given,
                    seed=s,
                    allow_parallels=allow_parallels,
                    final_cadence=not free_ending,
                    rules=rules,
                    plan=piece_plan,
                    chords=progression,
                )
            if chorder is not None:
                score = chorder.chords_for(score, seed=s, plan=piece_plan, close=not free_ending)[0].score
            if i == 0 and not quiet:  # after the first piece: an error in the rules stays the only line
                drawn = ""  # a key nobody gave is named, so that a keyless plan does not surprise
                corpus = f"{composer_}'s pieces have" if composer_ else "the training music has"
                if key_obj is None and n == 1:
                    drawn = f", home key {home} (drawn as often as {corpus} it; --key chooses one)"
                elif key_obj is None:
                    drawn = f", home keys drawn as often as {corpus} them (--key chooses one)"
                if drawing_meter and c.plan_model is not None:
                    how = f"drawn as often as {corpus} it"
                    drawn += (
                        f", meter {m} ({how}; --meter chooses one)"
                        if n == 1
                        else f", meters {how} (--meter chooses one)"
                    )
                say(f"model {name}, {seeds_text(seed, n)}{drawn}")
                if away:  # told once the first piece is written: an error before stays the only line
                    say(away)
            record = {
                "command": "generate",
                "model": name,
                "model_dir": str(hub.find_model(model)),
                "seed": s,
                "bars": length,
                "key": str(score.key),
                "meter": str(score.meter),
                "tempo": tempo,
                **recorded,
                "allow_parallels": allow_parallels,
                "free_ending": free_ending,
                **({"composer": composer_ or "none"} if piano else {}),
                **record_rules(scale, range_, fix, fixed_cells),
                **({"chords": chords, "chords_model": chords_model} if chorder is not None else {}),
                **({"chords": chords} if progression is not None else {}),
                **({"symbols": [[ch.start_beats, written_text(ch)] for ch in score.chords]} if score.chords else {}),
                "formats": list(fmts),
            }
            if piece_plan is not None:
                fermatas = c.fermatas_of(piece_plan)
                home_key = piece_plan.key or score.key  # a piano piece's score.key is its first section's
                written = c.realized_plan(piece_plan, home_key, score.meter) if not piano else piece_plan
                realized = replace(written, key=home_key, meter=str(score.meter), fermatas=fermatas)
                record["plan"] = realized.to_dict()
            played = performing(performer, expressiveness, s, piece_plan)
            for p in write_outputs(score, stem, fmts, record, force, played):
                typer.echo(str(p))


def _chords_model_of(model: str) -> str:
    """The chords model that chords a melody written by `model`: a leadsheet model's own chords
    part, else the shipped leadsheet's."""
    from cadenza import hub

    return model if "chords" in hub.parts_of(model) else "leadsheet"


def _what_it_writes(c) -> str:
    """What a model writes, for the message about the prompt's parts it does not go on in."""
    names = getattr(c, "voice_names", None)
    if names is None:  # the pianist: a piano's two hands
        return "two hands"
    return f"{len(names)} voice{'s' * (len(names) > 1)}"


def _writer(
    model: str, composer_, scale, ranges, fixes, fixed_cells, allow_parallels: bool, chords, chords_model
) -> tuple[Any, bool, Optional[str]]:
    """(what writes the music: a Composer, or for a piano model a Pianist; whether it is a piano
    model; --composer as the model spells it). Refuses, in one line, --composer for a model
    without composers, and the options a piano model does not take (they name voices or chords)."""
    from cadenza import hub
    from cadenza.compose import composer
    from cadenza.errors import OptionError

    if hub.family_name(model) != "piano":
        if composer_ is not None:
            raise OptionError(f"--composer is for a piano model (such as piano): model {model} has no composers")
        return composer.load(model), False, None  # a leadsheet model's melody part
    given = [
        flag
        for flag, value in (
            ("--scale", scale),
            ("--range", ranges),
            ("--fix", fixes),
            ("--fixed-cells", fixed_cells),
            ("--allow-parallels", allow_parallels),
            ("--chords", chords),
            ("--chords-model", chords_model),
        )
        if value
    ]
    if given:
        raise OptionError(
            f"{', '.join(given)}: model {model} writes free piano music for two hands, with no voices to fix or "
            "chords to follow; leave this out, or use a voices model (chorales, folk) or leadsheet"
        )
    pianist = hub.load(model)
    return pianist, True, pianist.composer_name(composer_)


def _progression(text: str, meter, bars: Optional[int], key, seconds: Optional[float]):
    """(the chord symbols of --chords, the piece's bars, its key) for a progression typed or in a
    file (a line is a bar too; a # at the start of a line or after a space starts a comment): it sets the length unless
    --bars or a form does, and is repeated to fill a length it divides; without --key the key is
    its last chord's (a tune ends on its tonic), or the key a last dominant seventh leads to."""
    from cadenza.chords import parse_progression, triad_quality
    from cadenza.errors import MusicError, OptionError
    from cadenza.score import Key
    from cadenza.theory import beat_beats

    path = Path(text).expanduser()
    source = "--chords"
    if "|" not in text and path.suffix and " " not in text.strip():
        if not path.is_file():
            raise OptionError(f"--chords {text}: no such file (a progression is chord symbols between '|')")
        source, text = str(path), path.read_text(encoding="utf-8", errors="replace")
        if text.lstrip().startswith(("%abc", "X:")):
            raise OptionError(f"{source}: an ABC file, not a progression; for a tune's own chords use `cadenza chords`")
    text = "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines())  # '#' after a space: a comment
    try:
        chords, n_bars = parse_progression(text, meter.bar_beats, beat_beats(meter))
    except MusicError as e:
        raise OptionError(f"{source}: {e}") from None
    if seconds is not None:
        raise OptionError("--chords sets the length (or --bars, or a form): give it without --seconds")
    if bars is not None and bars != n_bars:
        if bars % n_bars:
            raise OptionError(f"{source} has {n_bars} bars: repeated, they do not fill the piece's {bars} bars")
        chords = [replace(ch, start_beats=ch.start_beats + r * n_bars * meter.bar_beats)
                  for r in range(bars // n_bars) for ch in chords]  # fmt: skip
    if key is None:  # a tune ends on its tonic, or on its dominant seventh (a turnaround back to it)
        last = chords[-1]
        tonic = (last.root + 5) % 12 if last.kind == "dominant" else last.root
        # minor when its tonic chord is: the last chord, or (after a last V7) the chord on that tonic it has
        home = last if last.kind != "dominant" else next((c for c in chords if c.root == tonic), None)
        key = Key(0.0, tonic, "minor" if home is not None and triad_quality(home) == "minor" else "major")
    return chords, bars or n_bars, key


@with_config_options({"sampling": SamplingSettings}, skip=("seed",))
def continue_(
    prompt: Path = typer.Argument(..., help="a MIDI, MusicXML, ABC or kern file to continue"),
    model: Optional[str] = typer.Option(
        None,
        help="model name or folder [default: piano for a piano's two hands or a piano recording, "
        "leadsheet for a melody with chord symbols, folk for one melody, else chorales, into the prompt's parts]",
    ),
    bars: int = typer.Option(8, help="bars to add"),
    seed: Optional[int] = typer.Option(None, help="random seed [default: random, printed]"),
    n: int = typer.Option(1, "--n", help="number of alternatives"),
    allow_parallels: bool = ALLOW_PARALLELS,
    free_ending: bool = FREE_ENDING,
    scale: Optional[str] = SCALE,
    range_: list[str] = RANGES,
    fix: list[str] = FIXES,
    fixed_cells: Optional[Path] = FIXED_CELLS,
    composer_: Optional[str] = CONTINUED_AFTER,
    formats: str = typer.Option("mid,musicxml,wav,png"),
    performer: str = PERFORMER,
    expressiveness: float = EXPRESSIVENESS,
    out: Optional[str] = typer.Option(None, help="output stem [default: out/PROMPT-continued-seedN]"),
    force: bool = typer.Option(False),
    tune_number: Optional[int] = TUNE,
    quiet: bool = typer.Option(False),
    settings: dict = None,  # type: ignore[assignment]
):
    """Continue a piece: the prompt stays unchanged at the start, new bars follow."""
    from cadenza.chords import written_text
    from cadenza.compose import composer
    from cadenza.errors import OptionError
    from cadenza.render import check_outputs, parse_formats, write_outputs
    from cadenza.score import is_lead_sheet

    fmts = parse_formats(formats, out)
    performing(performer, expressiveness, 0)  # checks the options before any work
    if bars < 1 or n < 1:
        raise OptionError(f"--bars and --n must be at least 1 (got bars {bars}, n {n})")
    settings_and_record(SamplingSettings, settings)  # checks the values before any work
    score = read_piece(prompt, quiet, tune_number)
    from cadenza.perform.quantize import is_performance, quantized

    found = None
    if is_performance(score):  # a recording from a keyboard: beats and meter first
        score, found = quantized(score)
        if not quiet:
            say(f"{prompt}: a performance (its notes lie off any score's grid), read as {found.describe()}")
    choice = "given with --model"
    if model is None:
        from cadenza.io import MIDI_SUFFIXES

        voice_rules = scale or range_ or fix or fixed_cells or allow_parallels  # the voices models' options
        model, why = composer.model_for_prompt(
            score, performance=found is not None, piano=not voice_rules, midi=prompt.suffix.lower() in MIDI_SUFFIXES
        )
        choice = f"chosen: {why}"
    asked, credited = composer_, False
    c, piano, composer_ = _writer(model, composer_, scale, range_, fix, fixed_cells, allow_parallels, None, None)
    given = {k: settings.get(k) for k in ("temperature", "top_p", "top_k")}  # the rest: the model's defaults
    _, recorded = settings_and_record(SamplingSettings, asdict(c.sampling(**given, seed=0)))
    rules = None if piano else rules_from_options(scale, range_, fix, fixed_cells, c.voice_names)
    chorder, chords_model = None, None
    if not piano and len(c.voice_names) == 1 and is_lead_sheet(score):  # its new bars get chord symbols too
        from cadenza import hub

        chords_model = _chords_model_of(model)
        chorder = hub.load(chords_model, expect="chords")
    if piano:
        c.check_keys([score.last_key], f"{prompt}: its key")
        if asked is None and (named := c.composer_in(score.composer)) is not None:  # a Chopin piece: after Chopin
            composer_, credited = named, True
            if not quiet:
                say(f"{prompt}: written after {composer_}, whom its credit names (--composer none: after no one)")
    seed = pick_seed(seed)
    stems = output_stems(out, lambda i: f"{prompt.stem}-continued-seed{seed + i}", n)
    check_outputs(stems, fmts, force, performing(performer, expressiveness, seed))
    for i, stem in enumerate(stems):
        with about_file(prompt):
            if piano:
                result = c.continue_score(
                    score,
                    bars=bars,
                    **given,
                    seed=seed + i,
                    composer=composer_,
                    final_chord=not free_ending,
                    source=str(prompt),
                )
            else:
                result = c.continue_score(
                    score,
                    bars=bars,
                    **given,
                    seed=seed + i,
                    allow_parallels=allow_parallels,
                    final_cadence=not free_ending,
                    rules=rules,
                    source=str(prompt),
                    chorder=chorder,
                )
        if i == 0 and not quiet:  # after the first piece: an error in the rules stays the only line
            say(f"model {c.name} ({choice}), {seeds_text(seed, n)}")
            if chorder is not None:
                say(f"{prompt}: a lead sheet: its chord symbols kept, the new bars chorded by the {chorder.name} model")
            stopped = _stopped_parts(result, score)
            if stopped:
                say(
                    f"{prompt}: the {c.name} model writes {_what_it_writes(c)}: "
                    f"{', '.join(stopped)} stop{'s' * (len(stopped) == 1)} where the prompt ends "
                    "(a model with more voices goes on in every part: `cadenza models` lists them)"
                )
            dropped = unplayed(prompt, marks=True)
            if dropped:
                marks = re.search(r"(?:^|, )(?:dynamics mark|hairpin) x", dropped)  # not ABC's "crescendo hairpin"
                loud = " (its dynamics stay in its notes' loudness)" if marks else ""
                say(f"{prompt}: not written into the continuation's notation: {dropped}{loud}")
        record = {
            "command": "continue",
            "prompt": str(prompt),
            "model": c.name,
            "model_choice": choice,
            "key": str(result.last_key),  # the key the new bars are in: the prompt's at its end
            "meter": str(result.meters[-1]) if result.meters else "4/4",  # the new bars': the prompt's last
            "tempo": result.tempos[-1].bpm if result.tempos else 120.0,
            "seed": seed + i,
            "bars": bars,
            **recorded,
            "allow_parallels": allow_parallels,
            "free_ending": free_ending,
            **({"composer": composer_ or "none"} if piano else {}),
            **({"composer_choice": "named in the prompt's credit"} if credited else {}),
            **({"performance_read_as": found.describe()} if found is not None else {}),
            **record_rules(scale, range_, fix, fixed_cells),
            **({"chords_model": chords_model} if chorder is not None else {}),
            **({"symbols": [[ch.start_beats, written_text(ch)] for ch in result.chords]} if result.chords else {}),
        }
        for p in write_outputs(result, stem, fmts, record, force, performing(performer, expressiveness, seed + i)):
            typer.echo(str(p))


def _stopped_parts(result, prompt) -> list[str]:
    """The names of the continuation's pitched parts with no note after the prompt's last onset."""
    last = max((x.start_beats for x in prompt.notes()), default=0.0)
    return [
        p.name or f"part {k + 1}"
        for k, p in enumerate(result.parts)
        if not p.is_drum and p.notes and max(x.start_beats for x in p.notes) <= last + 1e-9
    ]
