"""The studio's HTTP API (cadenza.studio.app), through FastAPI's test client; its jobs run the
real `cadenza` commands as child processes."""

from __future__ import annotations

import io
import time

import mido
import pytest
from fastapi.testclient import TestClient

from cadenza.studio.app import create_app
from cadenza.studio.commands import argv

MELODY = b"X:1\nT:Four bars\nM:4/4\nL:1/4\nK:G\nG A B c | d2 B G | A B c A | G4 |]\n"
MODELS = {"chorales", "harmonizer"}


def wait(client: TestClient, job: dict, seconds: float = 120) -> dict:
    end = time.time() + seconds
    while job["state"] in ("queued", "running") and time.time() < end:
        time.sleep(0.2)
        job = client.get(f"/api/jobs/{job['id']}").json()
    return job


@pytest.fixture
def client(tmp_path):
    return TestClient(create_app(tmp_path / "studio"))


def test_a_false_flag_turns_the_option_off_where_it_has_an_off_form():
    assert argv("arrange", {"drums": False}, MODELS) == ["--no-drums"]
    assert argv("arrange", {"drums": True}, MODELS) == ["--drums"]
    assert argv("generate", {"no-plan": False}, MODELS) == []
    assert argv("generate", {"chords": "D | G A7 | D"}, MODELS) == ["--chords", "D | G A7 | D"]


def test_options_become_the_command_line_s():
    assert argv("infill", {"bars": "2-3", "voices": ["alto", "tenor"], "seed": 5}, MODELS) == [
        "--bars",
        "2-3",
        "--voices",
        "alto,tenor",
        "--seed",
        "5",
    ]
    assert argv("generate", {"allow-parallels": True, "free_ending": False, "range": ["alto=G3-C5"]}, MODELS) == [
        "--allow-parallels",
        "--range",
        "alto=G3-C5",
    ]


@pytest.mark.parametrize(
    "options, problem",
    [
        ({"out": "/tmp/x"}, "takes no option 'out'"),  # the server says where files go
        ({"force": True}, "takes no option 'force'"),
        ({"plan": "/etc/passwd"}, "takes no option 'plan'"),  # options that name files are the server's
        ({"model": "/etc"}, "no model named '/etc'"),  # a model is named, not given as a folder
        ({"bars": "eight"}, "'bars' takes a whole number"),
        ({"bars": True}, "'bars' takes a whole number"),
        ({"tempo": "fast"}, "'tempo' takes a number"),
        ({"no-plan": "yes"}, "is true or false"),
        ({"chords": "/etc/secret.txt"}, "reads like a file's name"),  # generate --chords reads such a file
        ({"chords": "progression.txt"}, "reads like a file's name"),
    ],
)
def test_options_that_are_not_the_client_s_to_give_are_refused(options, problem):
    from cadenza.errors import OptionError

    with pytest.raises(OptionError, match=problem):
        argv("generate", options, MODELS)


@pytest.mark.slow
def test_generate_then_download_and_read_its_notes(client):
    models = {m["name"]: m for m in client.get("/api/models").json()}
    assert models["chorales"]["voices"] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert models["harmonizer"]["kind"] == "orderless"
    assert models["chorales"]["about"] == (
        "Writes 4 voices (Soprano, Alto, Tenor, Bass). Learned from Bach's four-part chorales."
    )
    r = client.post("/api/generate", json={"options": {"model": "chorales", "bars": 4, "seed": 3, "n": 2}})
    assert r.status_code == 202
    assert r.json()["job"]["progress"] == {"written": 0, "of": 2}
    job = wait(client, r.json()["job"])
    assert job["state"] == "done", job
    assert len(job["pieces"]) == 2
    assert job["progress"] == {"written": 2, "of": 2}
    assert "model chorales, seeds 3-4" in job["log"] and "/" not in job["log"]  # what it said, not our paths
    piece = client.get(f"/api/pieces/{job['pieces'][0]}").json()
    [v] = piece["versions"]
    assert {"piece.mid", "piece.musicxml", "piece.wav", "piece.json", "piece.performed.mid", "piece.cover.png"} <= set(
        v["files"]
    )
    assert v["options"]["seed_used"] == 3
    midi = client.get(f"/api/pieces/{piece['id']}/versions/1/files/piece.mid")
    assert midi.headers["content-type"] == "audio/midi"
    assert (
        sum(1 for t in mido.MidiFile(file=io.BytesIO(midi.content)).tracks if any(m.type == "note_on" for m in t)) == 4
    )
    notes = client.get(f"/api/pieces/{piece['id']}/versions/1/notes").json()
    assert notes["bars"] == 4 and len(notes["parts"]) == 4
    assert client.get(f"/api/pieces/{piece['id']}/versions/1/files/piece.wav").content[:4] == b"RIFF"
    assert {p["id"] for p in client.get("/api/pieces").json()} == set(job["pieces"])


def _region_notes(notes: dict, part: int, inside: bool, lo: float, hi: float) -> list:
    return [
        (n["pitch"], n["start"], n["end"]) for n in notes["parts"][part]["notes"] if (lo <= n["start"] < hi) == inside
    ]


@pytest.mark.slow
def test_upload_harmonize_then_rewrite_a_region_keeps_the_rest(client):
    r = client.post("/api/uploads", files={"file": ("tune.abc", MELODY)})
    assert r.status_code == 201
    melody = r.json()["piece"]
    assert melody["title"] == "Four bars" and melody["versions"][0]["files"] == ["piece.abc", "piece.musicxml"]
    job = wait(
        client, client.post("/api/harmonize", json={"piece": melody["id"], "options": {"seed": 1}}).json()["job"]
    )
    assert job["state"] == "done", job
    [pid] = job["pieces"]
    harmonized = client.get(f"/api/pieces/{pid}").json()
    assert harmonized["versions"][0]["parent"] == {"piece": melody["id"], "version": 1}
    assert harmonized["title"] == "Four bars · harmonized · seed 1"
    pinned = ["2:1:alto=D4/2"]  # a note the user fixed in the passage: the rest is written around it
    body = {"piece": pid, "options": {"bars": "2-3", "voices": ["alto", "tenor"], "seed": 5, "fix": pinned}}
    job = wait(client, client.post("/api/infill", json=body).json()["job"])
    assert job["state"] == "done", job
    versions = client.get(f"/api/pieces/{pid}").json()["versions"]
    assert [v["n"] for v in versions] == [1, 2] and versions[1]["parent"] == {"piece": pid, "version": 1}
    before, after = (client.get(f"/api/pieces/{pid}/versions/{n}/notes").json() for n in (1, 2))
    assert any(
        n == (62, 4.0, n[2]) and n[2] >= 6.0 for n in _region_notes(after, 1, True, 4, 12)
    )  # D4, 2 beats or more
    for part in (0, 3):  # soprano and bass: untouched everywhere
        assert before["parts"][part]["notes"] == after["parts"][part]["notes"]
    for part in (1, 2):  # alto and tenor: untouched outside bars 2-3 (beats 4-12); a note held into bar 2 cut there
        kept = [(p, s, min(e, 4.0) if s < 4.0 else e) for p, s, e in _region_notes(before, part, False, 4, 12)]
        assert kept == _region_notes(after, part, False, 4, 12)
    job = wait(
        client,
        client.post("/api/perform", json={"piece": pid, "version": 1, "options": {"performer": "rules"}}).json()["job"],
    )
    assert job["state"] == "done", job
    third = client.get(f"/api/pieces/{pid}").json()["versions"][2]
    assert third["command"] == "perform" and {"piece.musicxml", "piece.performed.mid", "piece.wav"} <= set(
        third["files"]
    )


@pytest.mark.slow
def test_a_failing_command_says_why_in_one_sentence_without_server_paths(client, tmp_path):
    melody = client.post("/api/uploads", data={"abc": MELODY.decode()}).json()["piece"]
    job = wait(
        client, client.post("/api/infill", json={"piece": melody["id"], "options": {"bars": "9-12"}}).json()["job"]
    )
    assert job["state"] == "failed"
    assert "infill needs a piece in 4 parts" in job["error"]
    assert str(tmp_path) not in job["error"] + job["log"]
    assert job["error"].startswith("infill needs a piece in 4 parts")


@pytest.mark.parametrize(
    "data, problem",
    [
        (b"hello, world\n", "not a MIDI, MusicXML, ABC or kern file"),
        (b"MThd\x00\x00", "truncated MIDI file"),
        (b"", "empty"),
    ],
)
def test_a_bad_upload_gets_one_sentence_naming_the_file(client, data, problem):
    r = client.post("/api/uploads", files={"file": ("my tune.mid", data)})
    assert r.status_code == 400
    assert r.json()["error"].startswith("my tune.mid: ") and problem in r.json()["error"]
    assert client.get("/api/pieces").json() == []
    assert list((client.app.state.store.scratch).iterdir()) == []  # nothing left behind


def test_typed_abc_without_its_header_is_told_what_is_missing(client):
    r = client.post("/api/uploads", data={"abc": "G A B c | d2 B2 | A B c A | G4 |]"})
    assert r.status_code == 400
    assert r.json()["error"].startswith("the ABC you typed: no ABC header: begin with lines such as X:1")
    r = client.post("/api/uploads", data={"abc": MELODY.decode()})
    assert r.status_code == 201 and r.json()["piece"]["title"] == "Four bars"


def test_an_upload_too_large_is_refused(client):
    from cadenza.studio.uploads import MAX_BYTES

    r = client.post("/api/uploads", files={"file": ("big.abc", MELODY + b"%" * MAX_BYTES)})
    assert r.status_code == 400 and "larger than the studio takes" in r.json()["error"]


def test_no_client_path_reaches_the_file_system(client, tmp_path):
    melody = client.post("/api/uploads", files={"file": ("t.abc", MELODY)}).json()["piece"]
    base = f"/api/pieces/{melody['id']}/versions/1/files"
    assert client.get(f"{base}/piece.abc").content == MELODY
    for name in ("..%2Fpiece.json", "piece.json", "%2Fetc%2Fpasswd", "piece.abc%00"):
        r = client.get(f"{base}/{name}")
        assert r.status_code == 404 and "error" in r.json()
    assert client.get("/api/pieces/..%2F..%2Fetc/versions/1/files/piece.abc").status_code == 404
    assert client.get("/api/pieces/0123456789ab").json() == {"error": "no piece '0123456789ab'"}


def test_requests_the_api_cannot_take_get_one_sentence(client):
    r = client.post("/api/generate", json={"options": {"bogus": 1}})
    assert r.status_code == 400 and r.json()["error"].startswith("generate takes no option 'bogus' here")
    r = client.post("/api/harmonize", json={"options": {}})
    assert r.status_code == 400 and "give its id as 'piece'" in r.json()["error"]
    r = client.post("/api/generate", content=b"not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and set(r.json()) == {"error"}
    assert client.get("/api/jobs/nope").status_code == 404
    assert client.get("/api/nowhere").json() == {"error": "no such address in the studio"}
    r = client.post("/api/generate", json={"model": "folk", "bars": 8})  # the options left outside "options"
    assert r.status_code == 400 and r.json()["error"].startswith("no field 'model' here")
    r = client.post("/api/generate", content=b'{"options": {bars: 8}}', headers={"content-type": "application/json"})
    assert r.json()["error"].startswith("the body is not valid JSON")
    r = client.post("/api/generate", content=b'{"options": {}}', headers={"content-type": "text/plain"})
    assert "Content-Type: application/json" in r.json()["error"]
    assert client.get("/api/pieces/0123456789ab/versions/x/notes").json()["error"] == (
        "n in the address must be a whole number"
    )
    assert "command" not in str(client.get("/api/openapi.json").json()["paths"]["/api/generate"])


def test_a_full_queue_answers_429_with_retry_after(tmp_path):
    client = TestClient(create_app(tmp_path, max_waiting=0))
    r = client.post("/api/generate", json={"options": {"bars": 4}})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "busy" in r.json()["error"]


@pytest.mark.slow
def test_a_job_is_cancelled_or_stopped_at_its_time_limit_and_writes_nothing(tmp_path):
    client = TestClient(create_app(tmp_path, time_limit=60))
    job = client.post("/api/generate", json={"options": {"bars": 200, "seed": 1}}).json()["job"]
    queued = client.post("/api/generate", json={"options": {"bars": 4, "seed": 2}}).json()["job"]
    assert client.delete(f"/api/jobs/{queued['id']}").json()["job"]["state"] == "cancelled"
    while client.get(f"/api/jobs/{job['id']}").json()["state"] == "queued":
        time.sleep(0.1)
    assert client.delete(f"/api/jobs/{job['id']}").json()["job"]["state"] == "cancelled"
    assert wait(client, job)["state"] == "cancelled"
    assert client.get("/api/pieces").json() == []
    limited = TestClient(create_app(tmp_path / "limited", time_limit=0.5))
    job = wait(limited, limited.post("/api/generate", json={"options": {"bars": 4}}).json()["job"])
    assert job["state"] == "failed" and "time limit of 0.5 s" in job["error"]


def test_pieces_outlive_the_server_and_unfinished_work_is_cleared(tmp_path):
    first = TestClient(create_app(tmp_path))
    melody = first.post("/api/uploads", files={"file": ("t.abc", MELODY)}).json()["piece"]
    (tmp_path / "scratch" / "left-by-a-killed-server").mkdir()
    again = TestClient(create_app(tmp_path))
    assert again.get(f"/api/pieces/{melody['id']}").json() == melody
    assert list((tmp_path / "scratch").iterdir()) == []


def test_a_token_guards_every_request(tmp_path):
    client = TestClient(create_app(tmp_path, token="s3cret"))
    assert client.get("/api/models").status_code == 401
    assert client.get("/api/models", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/models", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    assert client.get("/api/pieces?token=s3cret").status_code == 200
    assert client.get("/api/docs").status_code == 401
    assert client.get("/").status_code != 401  # the page and its scripts hold no data: they load, then ask


def test_only_requests_addressed_to_the_studio_are_answered(tmp_path):
    app = create_app(tmp_path, hosts={"127.0.0.1", "localhost"})
    assert TestClient(app).get("/api/models").status_code == 403  # Host: testserver, as a rebound name would be
    local = TestClient(app, base_url="http://127.0.0.1:8765")
    assert local.get("/api/models").status_code == 200
    r = local.post("/api/uploads", data={"abc": MELODY.decode()}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403 and local.get("/api/pieces").json() == []
    r = local.post("/api/uploads", data={"abc": MELODY.decode()}, headers={"Origin": "http://localhost:8765"})
    assert r.status_code == 201


def test_the_page_s_files_cannot_reach_the_api_without_the_token(tmp_path):
    client = TestClient(create_app(tmp_path, token="s3cret"))
    for path in ("/static/../api/pieces", "/static/..%2Fapi/pieces", "/static/%2e%2e/api/pieces"):
        r = client.get(path)
        assert r.status_code in (401, 404) and "pieces" not in r.text


def test_pieces_a_killed_server_never_named_are_cleared(tmp_path):
    create_app(tmp_path)
    (tmp_path / "pieces" / "0123456789ab" / "v1").mkdir(parents=True)
    create_app(tmp_path)
    assert list((tmp_path / "pieces").iterdir()) == []


def test_the_api_is_described(client):
    spec = client.get("/api/openapi.json").json()
    assert {"/api/generate", "/api/harmonize", "/api/infill", "/api/perform", "/api/analyze", "/api/models"} <= set(
        spec["paths"]
    )


def test_the_radio_plays_pieces_in_turn_with_their_notes_audio_and_cover(client):
    assert client.get("/api/radio/1").status_code == 409
    assert "no model named" in client.post("/api/radio", json={"models": ["nosuch"]}).json()["error"]
    r = client.post("/api/radio", json={"models": ["folk"], "seed": 1, "bars": 4, "key": "G major"})
    assert r.json()["radio"]["seed"] == 1
    first = client.get("/api/radio/1").json()
    assert first["n"] == 1 and first["key"] == "G major" and first["model"] == "folk"
    assert first["notes"]["parts"][0]["notes"] and first["seconds"] > 0
    assert client.get(first["audio"]).content[:4] == b"OggS"
    assert client.get(first["cover"]).content[:4] == b"\x89PNG"
    second = client.get("/api/radio/2").json()
    assert second["n"] == 2 and second["key"] != "G major"  # the key moves, and comes home every fourth piece
    assert client.get("/api/radio/0").status_code == 404
    t0 = time.time()
    assert client.get("/api/radio/1000000").status_code == 503 and time.time() - t0 < 5  # nobody is that far on
    assert client.get(first["audio"]).headers["cache-control"] == "no-store"
    assert client.delete("/api/radio").json() == {"radio": None}
    assert client.get("/api/radio/1").status_code == 409


@pytest.mark.slow
def test_killing_the_server_mid_job_loses_nothing_finished(tmp_path):
    import json
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request

    def serve():
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        cmd = [sys.executable, "-m", "cadenza", "studio", "--port", str(port), "--dir", str(tmp_path), "--no-browser"]
        server = subprocess.Popen(cmd, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/api/pieces", timeout=5)
                return server, base
            except OSError:
                time.sleep(0.1)
        raise AssertionError("the studio did not start")

    def call(base, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(base + path, data=data, headers={"Content-Type": "application/json"})
        return json.loads(urllib.request.urlopen(req, timeout=60).read())

    server, base = serve()
    try:
        job = call(base, "/api/generate", {"options": {"model": "folk", "bars": 4, "seed": 1}})["job"]
        while job["state"] in ("queued", "running"):
            time.sleep(0.2)
            job = call(base, f"/api/jobs/{job['id']}")
        kept = call(base, f"/api/pieces/{job['pieces'][0]}")
        call(base, "/api/generate", {"options": {"model": "chorales", "bars": 400, "seed": 2}})  # still running when
        time.sleep(2)
    finally:
        server.send_signal(signal.SIGKILL)  # the server dies at once
        server.wait()
    server, base = serve()
    try:
        assert call(base, "/api/pieces") == [kept]
        assert (
            urllib.request.urlopen(f"{base}/api/pieces/{kept['id']}/versions/1/files/piece.mid").read()[:4] == b"MThd"
        )
        assert list((tmp_path / "scratch").iterdir()) == []
    finally:
        server.terminate()
        server.wait()


@pytest.mark.slow
def test_evaluate_measures_pieces_against_a_built_in_corpus(client):
    job = wait(
        client,
        client.post("/api/generate", json={"options": {"model": "chorales", "bars": 4, "seed": 1, "n": 3}}).json()[
            "job"
        ],
    )
    assert job["state"] == "done", job
    r = client.post("/api/evaluate", json={"pieces": job["pieces"], "options": {"reference": "/etc"}})
    assert r.status_code == 400 and "must be a built-in corpus" in r.json()["error"]
    assert client.post("/api/evaluate", json={"pieces": job["pieces"]}).status_code == 400
    r = client.post("/api/evaluate", json={"pieces": ["0123456789ab"], "options": {"reference": "bach-chorales"}})
    assert r.status_code == 404
    body = {"pieces": job["pieces"], "options": {"reference": "bach-chorales"}}
    done = wait(client, client.post("/api/evaluate", json=body).json()["job"], seconds=600)
    assert done["state"] == "done", done
    [report] = client.get(f"/api/pieces/{done['pieces'][0]}").json()["versions"]
    assert {"piece.html", "piece.json"} <= set(report["files"]) and report["options"]["pieces"] == job["pieces"]
    measured = client.get(f"/api/pieces/{done['pieces'][0]}/versions/1/files/piece.json").json()
    assert [s["pieces"] for s in measured["sets"].values()] == [3]


@pytest.mark.slow
def test_a_tune_gets_chords_then_a_band_in_a_style(client):
    melody = client.post("/api/uploads", files={"file": ("tune.abc", MELODY)}).json()["piece"]
    assert (
        "built-in one"
        in client.post("/api/arrange", json={"piece": melody["id"], "options": {"style": "/tmp/x.toml"}}).json()[
            "error"
        ]
    )
    job = wait(client, client.post("/api/chords", json={"piece": melody["id"], "options": {"seed": 1}}).json()["job"])
    assert job["state"] == "done", job
    [sheet] = job["pieces"]
    assert client.get(f"/api/pieces/{sheet}").json()["title"] == "Four bars · with chords · seed 1"
    job = wait(
        client,
        client.post("/api/arrange", json={"piece": sheet, "options": {"style": "folk", "seed": 2}}).json()["job"],
    )
    assert job["state"] == "done", job
    band = client.get(f"/api/pieces/{job['pieces'][0]}").json()
    assert band["title"] == "Four bars · with chords · seed 1 · folk band"
    notes = client.get(f"/api/pieces/{job['pieces'][0]}/versions/1/notes").json()
    assert len(notes["parts"]) >= 3  # the melody, a bass, a chord part


def test_a_body_far_too_large_is_refused_before_it_is_read(client):
    r = client.post(
        "/api/uploads", content=b"x" * 10, headers={"content-length": "50000000", "content-type": "text/plain"}
    )
    assert r.status_code == 413 and "larger than the studio takes" in r.json()["error"]


def test_band_styles_are_listed_for_arrange(client):
    styles = {s["name"]: s["description"] for s in client.get("/api/styles").json()}
    assert set(styles) == {"folk", "waltz", "march", "ballad", "jazz-swing", "pop"}
    assert styles["waltz"].startswith("oom-pah-pah")
    meters = {s["name"]: s["meters"] for s in client.get("/api/styles").json()}
    assert meters["waltz"][0] == "3/4" and "4/4" not in meters["waltz"]  # the page writes a waltz's tune in 3/4


def test_a_job_counts_the_pieces_its_command_has_finished(tmp_path):
    from cadenza.studio.jobs import Job

    job = Job("generate", [], {"n": 3})
    job.out, job.state = tmp_path, "running"
    for name in ("piece.mid", "piece.json", "piece-2.mid", "piece-2.wav", "notes.json"):
        (tmp_path / name).write_bytes(b"")
    assert job.to_dict()["progress"] == {"written": 1, "of": 3}  # piece 2 has no record yet; notes.json is not a piece
    (tmp_path / "piece-2.json").write_bytes(b"")
    assert job.to_dict()["progress"] == {"written": 2, "of": 3}
    assert Job("analyze", [], {}).to_dict()["progress"] == {"written": 0, "of": 1}
