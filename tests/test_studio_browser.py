"""Cadenza Studio in a real browser: headless Chromium, driven by Selenium, against the real
server (`cadenza studio`) in a subprocess. A melody is harmonized through the page, then a region
of it (bars 2-3, alto and tenor) rewritten; the API then shows that nothing outside the region
changed, and the note pinned in it kept. A second test composes a short lead sheet played by a
waltz band in 3/4 (its card shows the piece's cover picture) and plays the radio. With
CADENZA_SCREENSHOTS=1 each state of the page is saved as docs/studio-*.png."""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
SCREENSHOTS = os.environ.get("CADENZA_SCREENSHOTS") == "1"
WAIT_JOB = 180  # seconds for one harmonize or infill job on a 2-core machine

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_melody(path: Path) -> None:
    """Four bars of 4/4 in C major, quarter notes, ending on a half note: one track, no key."""
    import mido

    pitches = [60, 62, 64, 65, 67, 65, 64, 62, 64, 65, 67, 64, 62, 59, 60]
    lengths = [1] * 14 + [2]
    tpq = 480
    mid = mido.MidiFile(ticks_per_beat=tpq)
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name="Melody", time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(90), time=0))
    for p, beats in zip(pitches, lengths):
        track.append(mido.Message("note_on", note=p, velocity=80, time=0))
        track.append(mido.Message("note_off", note=p, velocity=0, time=beats * tpq))
    track.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(track)
    mid.save(str(path))


class Server:
    def __init__(self, port: int, token: str | None):
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def url(self, path: str) -> str:
        """An address with the token in its query, as the page's links carry it."""
        if not self.token or "token=" in path:
            return self.base + path if path.startswith("/") else path
        sep = "&" if "?" in path else "?"
        return (self.base + path if path.startswith("/") else path) + f"{sep}token={self.token}"

    def get(self, path: str) -> bytes:
        req = urllib.request.Request(self.url(path))
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()

    def json(self, path: str):
        return json.loads(self.get(path))


@pytest.fixture
def studio(tmp_path):
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    command = [sys.executable, "-m", "cadenza", "studio", "--port", str(port), "--dir", str(tmp_path / "studio")]
    proc = subprocess.Popen(
        [*command, "--no-browser"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=os.environ.copy(),
    )
    server = Server(port, None)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                log.flush()
                output = (tmp_path / "server.log").read_text()
                raise AssertionError(f"cadenza studio exited ({proc.returncode}):\n{output}")
            try:
                server.json("/api/models")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    raise AssertionError("cadenza studio did not answer /api/models within 90 s") from None
                time.sleep(0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def browser():
    if not CHROMIUM or not os.path.exists(CHROMEDRIVER):
        pytest.skip("needs Chromium and its driver (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1400,1000")
    options.binary_location = CHROMIUM
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # an explicit driver path: Selenium Manager never downloads one
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver, name: str) -> None:
    """The whole page as docs/studio-NAME.png, only with CADENZA_SCREENSHOTS=1."""
    if not SCREENSHOTS:
        return
    import base64

    driver.execute_script("window.scrollTo(0, 0)")
    width, height = driver.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollHeight]"
    )
    metrics = {"width": width, "height": min(height, 8000), "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    try:
        time.sleep(0.5)
        png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / f"studio-{name}.png").write_bytes(base64.b64decode(png))


def _wait(driver, condition, timeout: float, what: str):
    """Polls condition(driver) until it is truthy; fails at once when the page shows an error."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        value = condition(driver)
        if value:
            return value
        banner = driver.find_element(By.ID, "error")
        if banner.is_displayed():
            raise AssertionError(f"the page shows an error while waiting for {what}: {banner.text!r}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.5)


def _set(element, value) -> None:
    element.clear()
    element.send_keys(str(value))


def _card_ready(card) -> bool:
    """The card shows its score (an SVG), its piano roll has notes and its player a source."""
    from selenium.webdriver.common.by import By

    return bool(
        card.find_elements(By.CSS_SELECTOR, ".notation svg")
        and card.find_element(By.CSS_SELECTOR, "audio.player").get_attribute("src")
        and card.find_elements(By.CSS_SELECTOR, ".voice-checkbox")
    )


def _clipped_outside(notes: list[dict], a: float, b: float) -> list[tuple]:
    """The parts of these notes that sound before beat a or from beat b on."""
    out = []
    for n in notes:
        if n["start"] < a - 1e-6:
            out.append((n["pitch"], round(n["start"], 3), round(min(n["end"], a), 3)))
        if n["end"] > b + 1e-6:
            out.append((n["pitch"], round(max(n["start"], b), 3), round(n["end"], 3)))
    return sorted(out)


def _notes_of(notes: list[dict]) -> list[tuple]:
    return sorted((n["pitch"], round(n["start"], 3), round(n["end"], 3)) for n in notes)


def test_harmonize_then_rewrite_a_region_in_the_browser(studio, browser, tmp_path):
    import mido
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    melody = tmp_path / "melody.mid"
    _write_melody(melody)
    d = browser

    # the browser libraries are installed and served (make setup: scripts/studio_vendor.sh)
    for lib in ("opensheetmusicdisplay/build/opensheetmusicdisplay.min.js", "swagger-ui-dist/swagger-ui-bundle.js"):
        assert len(studio.get(f"/static/node_modules/{lib}")) > 100_000, lib

    d.get(studio.url("/"))
    _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#compose-model option[value='chorales']"), 30, "model list")
    _shot(d, "compose")

    # harmonize the melody: one alternative
    d.find_element(By.ID, "tab-harmonize").click()
    d.find_element(By.ID, "harmonize-file").send_keys(str(melody))
    _set(d.find_element(By.ID, "harmonize-n"), 1)
    _set(d.find_element(By.ID, "harmonize-seed"), 1)
    _shot(d, "harmonize-form")
    d.find_element(By.ID, "harmonize-button").click()
    cards = _wait(
        d,
        lambda d: [c for c in d.find_elements(By.CSS_SELECTOR, "#harmonize-results .piece-card") if _card_ready(c)],
        WAIT_JOB,
        "harmonized piece with its score and audio",
    )
    assert len(cards) == 1
    card = cards[0]
    piece_id = card.get_attribute("data-piece")
    assert card.get_attribute("data-version") == "1"
    _shot(d, "harmonized")

    # the MIDI download: four parts with notes
    href = card.find_element(By.CSS_SELECTOR, "a.download-mid").get_attribute("href")
    mid = mido.MidiFile(file=io.BytesIO(studio.get(href)))
    with_notes = [t for t in mid.tracks if any(m.type == "note_on" and m.velocity > 0 for m in t)]
    assert len(with_notes) >= 4, f"the harmonization has {len(with_notes)} parts with notes"

    # the audio is served
    src = card.find_element(By.CSS_SELECTOR, "audio.player").get_attribute("src")
    assert studio.get(src)[:4] == b"RIFF"

    # choose bars 2-3 by dragging across the piano roll
    canvas = card.find_element(By.CSS_SELECTOR, "canvas.pianoroll")
    d.execute_script("arguments[0].scrollIntoView({block: 'center'})", canvas)
    geometry = d.execute_script(
        "const c = window.cadenzaStudio.cards.find(c => c.root.dataset.piece === arguments[0]);"
        "const r = c.roll, mid = b => (r.x(r.barStart(b)) + r.x(r.barStart(b + 1))) / 2;"
        "return {w: r.canvas.clientWidth, x2: mid(2), x3: mid(3)};",
        piece_id,
    )
    left = -geometry["w"] / 2  # offsets are from the canvas's centre
    ActionChains(d).move_to_element_with_offset(canvas, int(left + geometry["x2"]), 0).click_and_hold().move_by_offset(
        int(geometry["x3"] - geometry["x2"]), 0
    ).release().perform()
    assert card.find_element(By.CSS_SELECTOR, ".region-from").get_attribute("value") == "2"
    assert card.find_element(By.CSS_SELECTOR, ".region-to").get_attribute("value") == "3"
    # ... and the same with the inputs
    _set(card.find_element(By.CSS_SELECTOR, ".region-from"), 2)
    _set(card.find_element(By.CSS_SELECTOR, ".region-to"), 3)

    voices = {c.get_attribute("value"): c for c in card.find_elements(By.CSS_SELECTOR, ".voice-checkbox")}
    assert {"soprano", "alto", "tenor", "bass"} <= set(voices), sorted(voices)
    assert [n for n, box in voices.items() if box.is_selected()] == ["alto", "tenor", "bass"]  # not the melody
    voices["bass"].click()
    _set(card.find_element(By.CSS_SELECTOR, ".regen-seed"), 5)

    # pin the alto's first note of bar 3 by shift-clicking it: it is kept, the rest written around it
    note = d.execute_script(
        "const c = window.cadenzaStudio.cards.find(c => c.root.dataset.piece === arguments[0]);"
        "const r = c.roll, alto = c.roll.data.parts[1].notes.find(n => n.start >= r.barBeat(3));"
        "return {w: r.canvas.clientWidth, h: r.canvas.clientHeight, pitch: alto.pitch, start: alto.start,"
        " x: r.x(alto.start) + 3, y: r.head + 2 + (r.hi - alto.pitch + 0.5) * r.rowH};",
        piece_id,
    )
    ActionChains(d).key_down(Keys.SHIFT).move_to_element_with_offset(
        canvas, int(note["x"] - note["w"] / 2), int(note["y"] - note["h"] / 2)
    ).click().key_up(Keys.SHIFT).perform()
    fixed = card.find_element(By.CSS_SELECTOR, ".regen-fix").get_attribute("value")
    assert fixed.startswith("3:") and ":alto=" in fixed, fixed
    assert (
        card.find_element(By.CSS_SELECTOR, ".region-from").get_attribute("value") == "2"
    )  # the region held it already
    _shot(d, "region")
    card.find_element(By.CSS_SELECTOR, ".regen-button").click()
    _wait(
        d,
        lambda d: card.get_attribute("data-version") == "2" and _card_ready(card),
        WAIT_JOB,
        "second version after regenerating bars 2-3",
    )
    _shot(d, "rewritten")

    # the history: version 2 rewrote bars 2-3 of version 1, and undo shows version 1 again
    piece = studio.json(f"/api/pieces/{piece_id}")
    v2 = next(v for v in piece["versions"] if v["n"] == 2)
    assert v2["command"] == "infill"
    assert str(v2["options"].get("bars")) == "2-3" and v2["options"].get("fix") == [fixed]
    card.find_element(By.CSS_SELECTOR, ".undo-button").click()
    _wait(d, lambda d: card.get_attribute("data-version") == "1", 30, "version 1 after undo")

    # outside bars 2-3 nothing changed; the soprano and bass did not change anywhere
    before = studio.json(f"/api/pieces/{piece_id}/versions/1/notes")
    after = studio.json(f"/api/pieces/{piece_id}/versions/2/notes")
    assert [p["name"].lower() for p in before["parts"]] == [p["name"].lower() for p in after["parts"]]
    # bars 2-3, counted from 1 as notation does; a pickup sits in a whole bar 0 from beat 0
    bpb, first = before["beats_per_bar"], 0 if before.get("pickup_beats", 0) > 0 else 1
    a, b = (2 - first) * bpb, (4 - first) * bpb
    for p1, p2 in zip(before["parts"], after["parts"]):
        name = p1["name"].lower()
        if name in ("soprano", "bass"):
            assert _notes_of(p1["notes"]) == _notes_of(p2["notes"]), f"the {name} changed"
        else:
            assert _clipped_outside(p1["notes"], a, b) == _clipped_outside(p2["notes"], a, b), (
                f"the {name} changed outside bars 2-3"
            )
    assert any(
        n["pitch"] == note["pitch"] and n["start"] <= note["start"] < n["end"] for n in after["parts"][1]["notes"]
    ), f"the pinned alto note ({fixed}: {note}) was not kept: {after['parts'][1]['notes']}"

    errors = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert not errors, errors


def test_cover_pictures_and_the_radio_in_the_browser(studio, browser):
    import mido
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    d = browser
    d.get(studio.url("/"))
    _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#radio-models .radio-model[value='folk']"), 30, "model list")

    # a lead sheet played by a waltz band, so written in 3/4 (the meter is left to the style); its
    # card shows its cover picture, and offers it as a download
    assert not d.find_element(By.ID, "compose-arrange-row").is_displayed()  # chorales: no band
    Select(d.find_element(By.ID, "compose-model")).select_by_value("leadsheet")
    assert d.find_element(By.ID, "compose-arrange-row").is_displayed()
    _wait(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#compose-arrange option[value='waltz']"), 30, "band styles")
    Select(d.find_element(By.ID, "compose-arrange")).select_by_value("waltz")
    assert "oom-pah-pah" in d.find_element(By.ID, "compose-arrange-summary").text.lower()
    _set(d.find_element(By.ID, "compose-bars"), 4)
    _set(d.find_element(By.ID, "compose-seed"), 2)
    d.find_element(By.ID, "compose-button").click()
    card = _wait(
        d,
        lambda d: [
            c
            for c in d.find_elements(By.CSS_SELECTOR, "#compose-results .piece-card")
            if c.find_elements(By.CSS_SELECTOR, ".notation svg")
            and d.execute_script("return arguments[0].querySelector('img.card-cover').naturalWidth", c)
        ],
        WAIT_JOB,
        "composed piece with its score and cover",
    )[0]
    assert card.find_element(By.CSS_SELECTOR, ".card-cover-button").is_displayed()
    assert card.find_element(By.CSS_SELECTOR, ".card-title").text.endswith("waltz band")
    mid = mido.MidiFile(
        file=io.BytesIO(studio.get(card.find_element(By.CSS_SELECTOR, "a.download-mid").get_attribute("href")))
    )
    names = [t.name for t in mid.tracks if any(m.type == "note_on" and m.velocity > 0 for m in t)]
    assert len(names) >= 3, names  # the tune, a bass and the accordion at least
    meters = {(m.numerator, m.denominator) for t in mid.tracks for m in t if m.type == "time_signature"}
    assert meters == {(3, 4)}, meters
    href = card.find_element(By.CSS_SELECTOR, "a.download-cover").get_attribute("href")
    assert href.endswith("/files/piece.cover.png"), href
    assert studio.get(href)[:8] == b"\x89PNG\r\n\x1a\n"
    _shot(d, "compose-cover")

    # the radio: folk only (quick to write), 8 bars a piece
    d.find_element(By.ID, "tab-radio").click()
    for box in d.find_elements(By.CSS_SELECTOR, "#radio-models .radio-model"):
        if box.is_selected() != (box.get_attribute("value") == "folk"):
            box.click()
    _set(d.find_element(By.ID, "radio-bars"), 8)
    _set(d.find_element(By.ID, "radio-seed"), 7)
    d.find_element(By.ID, "radio-start").click()

    def sources(d):
        return d.execute_script("return [...document.querySelectorAll('#panel-radio audio')].map(a => a.src)")

    _wait(
        d,
        lambda d: (
            any("/api/radio/1/audio" in s for s in sources(d))
            and d.execute_script("return document.getElementById('radio-cover').naturalWidth > 0")
        ),
        60,
        "the radio's first piece with its cover",
    )
    first = studio.json("/api/radio/1")
    assert d.find_element(By.ID, "radio-piece-key").text == first["key"]
    assert first["key"] in d.find_element(By.ID, "radio-title").text
    # while piece 1 plays, piece 2 is loaded in the other <audio>, ready to follow without a gap
    _wait(d, lambda d: any("/api/radio/2/audio" in s for s in sources(d)), 40, "piece 2 loading behind piece 1")
    _wait(
        d,
        lambda d: d.execute_script(
            "const a = window.cadenzaStudio.radio.current.audio; return !a.paused && a.currentTime > 1.5"
        ),
        20,
        "piece 1 playing",
    )
    assert d.find_element(By.CSS_SELECTOR, "#radio-played .radio-played-item.current").get_attribute("data-n") == "1"
    if SCREENSHOTS:  # a few bars in, the roll has moved
        _wait(
            d, lambda d: d.execute_script("return window.cadenzaStudio.radio.current.audio.currentTime > 6"), 20, "6 s"
        )
    _shot(d, "radio")

    d.find_element(By.ID, "radio-stop").click()
    assert d.execute_script("return [...document.querySelectorAll('#panel-radio audio')].every(a => a.paused)")

    errors = [e["message"] for e in d.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert not errors, errors
