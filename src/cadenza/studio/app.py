"""The studio's web app: the page at /, its files at /static, the HTTP API under /api (described
at /api/openapi.json, browsable at /api/docs).

    from cadenza.studio.app import create_app
    app = create_app(Path("~/.cadenza/studio").expanduser())

Every error is an HTTP status with {"error": "one sentence"}. A server bound to anything but
loopback is created with a token, which every request must carry (Authorization: Bearer TOKEN,
or ?token=TOKEN for links such as an <audio> source).
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from pathlib import Path

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from cadenza.errors import CadenzaError
from cadenza.studio import uploads
from cadenza.studio.commands import COMMANDS, argv
from cadenza.studio.jobs import Job, JobQueue, QueueFull
from cadenza.studio.store import NotFound, Store

STATIC = Path(__file__).parent / "static"
MEDIA = {
    ".mid": "audio/midi",
    ".musicxml": "application/vnd.recordare.musicxml+xml",
    ".abc": "text/vnd.abc",
    ".wav": "audio/wav",
    ".json": "application/json",
    ".html": "text/html",
    ".png": "image/png",
    ".krn": "text/plain",
}


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    """A command's request: the piece it reads (all but generate), which version (default the
    latest), and its options, named as on the command line (`cadenza COMMAND --help`)."""

    piece: str | None = Field(None, description="the id of the piece the command reads")
    pieces: list[str] | None = Field(None, description="evaluate: the ids of the pieces to measure")
    version: int | None = Field(None, description="which version of it (default: the latest)")
    options: dict = Field(default_factory=dict, description='the command\'s options, e.g. {"bars": 8, "seed": 3}')


class RadioRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    """What the radio plays: models in turn, a home key, a seed (the same seed, the same music)."""

    models: list[str] = Field(default_factory=lambda: ["chorales"], description="models, in turn")
    key: str | None = Field(None, description="the home key, e.g. 'D major' (default: drawn)")
    seed: int | None = Field(None, description="random seed (default: random)")
    bars: int = Field(16, description="bars per piece")


class Refused(CadenzaError):
    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def create_app(
    root: Path,
    token: str | None = None,
    workers: int = 1,
    max_waiting: int = 8,
    time_limit: float = 300.0,
    hosts: set[str] | None = None,
) -> FastAPI:
    """The app, keeping its pieces under `root`. `hosts`: the host names a request may be
    addressed to (its Host header, and the Origin of a browser's POST or DELETE), so that no
    other web site can reach a studio on this machine through the browser; None: any."""
    store = Store(root)
    queue = JobQueue(store, workers=workers, max_waiting=max_waiting, time_limit=time_limit)
    app = FastAPI(title="Cadenza Studio API", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.store, app.state.queue, app.state.radio = store, queue, None
    radio_lock = threading.Lock()
    shutil.rmtree(root / "radio", ignore_errors=True)  # an earlier server's broadcasts

    @app.middleware("http")
    async def check_token(request: Request, call_next):
        path = request.url.path
        page = path == "/" or path.startswith("/static/")  # the page and its scripts hold no data
        if hosts is not None:
            host = request.headers.get("host", "").rsplit(":", 1)[0].strip("[]")
            origin = request.headers.get("origin", "")
            origin_host = origin.split("://", 1)[-1].rsplit(":", 1)[0].strip("[]") if origin else None
            if host not in hosts or (request.method in ("POST", "DELETE") and origin and origin_host not in hosts):
                return JSONResponse({"error": "this studio answers only requests addressed to it"}, 403)
        if request.method == "POST":  # refused before it is read: a body far over any upload's limit
            size = request.headers.get("content-length", "")
            if "chunked" in request.headers.get("transfer-encoding", "") or size and not size.isdigit():
                return JSONResponse({"error": "a request body needs its length (Content-Length)"}, 411)
            if size and int(size) > uploads.MAX_BYTES + 100_000:
                limit = uploads.MAX_BYTES // 1_000_000
                return JSONResponse(
                    {"error": f"the request is larger than the studio takes ({size} bytes; at most {limit} MB)"}, 413
                )
        if token is not None and not page:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            given = given or request.query_params.get("token", "")
            if not secrets.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "this studio needs its token (Authorization: Bearer TOKEN)"}, 401)
        return await call_next(request)

    @app.exception_handler(Refused)
    async def refused(_, e: Refused):
        return JSONResponse({"error": e.message}, e.status, headers=e.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_, e: StarletteHTTPException):
        message = "no such address in the studio" if e.status_code == 404 else str(e.detail)
        return JSONResponse({"error": message}, e.status_code, headers=getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        # 400, not FastAPI's 422: the same as every other request the studio cannot take
        return JSONResponse({"error": _unreadable(request, e.errors())}, 400)

    @app.exception_handler(Exception)
    async def crashed(_, e: Exception):
        return JSONResponse(
            {"error": f"the studio failed on this request ({type(e).__name__}); it is still running"}, 500
        )

    @app.get("/", include_in_schema=False)
    def page():
        index = STATIC / "index.html"
        if not index.exists():
            return HTMLResponse("<p>The studio's page is not installed: run <code>make setup</code>.</p>", 503)
        return FileResponse(index)

    if STATIC.is_dir():
        app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/docs", include_in_schema=False)
    def docs():
        vendor = "/static/node_modules/swagger-ui-dist"
        return get_swagger_ui_html(
            openapi_url="/api/openapi.json" + (f"?token={token}" if token else ""),
            title="Cadenza Studio API",
            swagger_js_url=f"{vendor}/swagger-ui-bundle.js",
            swagger_css_url=f"{vendor}/swagger-ui.css",
            swagger_favicon_url=f"{vendor}/favicon-32x32.png",
        )

    @app.get("/api/models", summary="The models a command can use")
    def models() -> list[dict]:
        return _models()

    @app.get("/api/styles", summary="The band styles `arrange` plays a lead sheet in")
    def styles() -> list[dict]:
        from cadenza.arrange.styles import BUILTIN_STYLES, load_style

        out = []
        for name in BUILTIN_STYLES:
            style = load_style(name)
            meters = [m for m in style.patterns if m != "any"]  # a meter without a pattern plays "any"'s
            out.append({"name": name, "description": style.description, "meters": meters})
        return out

    @app.post("/api/uploads", status_code=201, summary="Upload a piece (a file, or ABC text)")
    async def upload(file: UploadFile | None = File(None), abc: str | None = Form(None)) -> dict:
        if (file is None) == (abc is None):
            raise Refused(400, "send one file (field 'file') or ABC text (field 'abc')")
        if file is not None:
            data = await file.read(uploads.MAX_BYTES + 1)
            name = file.filename or "upload"
        else:
            data, name = (abc or "").encode(), uploads.TYPED
        folder = store.scratch_dir()
        try:
            title = await run_in_threadpool(uploads.accept, data, name, folder)  # parsing takes a while
            return {"piece": store.add(folder, title, "upload", {"file": Path(name).name}, None)}
        except CadenzaError as e:
            raise Refused(400, str(e).splitlines()[0]) from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)  # moved into the store, or refused

    def submit(command: str, body: CommandRequest) -> dict:
        if command == "evaluate" and "reference" not in body.options:
            raise Refused(400, 'evaluate needs a reference: a built-in corpus, e.g. {"reference": "bach-chorales"}')
        try:
            args = argv(command, body.options, {m["name"] for m in _models()})
        except CadenzaError as e:
            raise Refused(400, str(e)) from None
        source = None
        if command == "evaluate":
            source = _evaluated(store, body)
        elif COMMANDS[command]:
            if body.piece is None:
                raise Refused(400, f"{command} reads a piece: give its id as 'piece' (upload one at /api/uploads)")
            try:
                v = store.version(body.piece, body.version)
            except NotFound as e:
                raise Refused(404, str(e)) from None
            path = _input_of(store, body.piece, v)
            if path is None:
                raise Refused(400, f"version {v['n']} of piece {body.piece} has no score to read")
            source = {"piece": body.piece, "version": v["n"], "path": path}
        elif body.piece is not None:
            raise Refused(400, f"{command} reads no piece; leave out 'piece'")
        job = Job(command, args, body.options, source)
        try:
            queue.submit(job)
        except QueueFull as e:
            job.clean_up()
            raise Refused(429, str(e), {"Retry-After": str(e.retry_after)}) from None
        return {"job": queue.get(job.id)}

    def endpoint_of(command: str):
        def endpoint(body: CommandRequest) -> dict:
            return submit(command, body)

        return endpoint

    for command in COMMANDS:
        app.post(
            f"/api/{command}",
            status_code=202,
            summary=f"Start `cadenza {command}` (a job)",
            description=f"Options as `cadenza {command} --help` lists them, but --out, --force, --formats, "
            "--quiet, --tune and options that name files, which the studio sets. Poll /api/jobs/{id}.",
        )(endpoint_of(command))

    @app.get("/api/jobs/{job_id}", summary="A job's state, and the pieces it wrote")
    def job(job_id: str) -> dict:
        try:
            return queue.get(job_id)
        except KeyError:
            raise Refused(404, f"no job {job_id!r}") from None

    @app.delete("/api/jobs/{job_id}", summary="Cancel a job")
    def cancel(job_id: str) -> dict:
        try:
            return {"job": queue.cancel(job_id)}
        except KeyError:
            raise Refused(404, f"no job {job_id!r}") from None

    @app.get("/api/pieces", summary="The studio's pieces, newest first")
    def pieces() -> list[dict]:
        return store.pieces()

    @app.get("/api/pieces/{piece_id}", summary="A piece and its versions")
    def piece(piece_id: str) -> dict:
        try:
            return store.piece(piece_id)
        except NotFound as e:
            raise Refused(404, str(e)) from None

    @app.get("/api/pieces/{piece_id}/versions/{n}/files/{name}", summary="A file of a version")
    def file(piece_id: str, n: int, name: str):
        try:
            path = store.file_path(piece_id, n, name)
        except NotFound as e:
            raise Refused(404, str(e)) from None
        return FileResponse(path, media_type=MEDIA.get(path.suffix, "application/octet-stream"), filename=name)

    @app.get("/api/pieces/{piece_id}/versions/{n}/notes", summary="A version's notes, for a piano roll")
    def notes(piece_id: str, n: int) -> dict:
        try:
            v = store.version(piece_id, n)
        except NotFound as e:
            raise Refused(404, str(e)) from None
        path = _input_of(store, piece_id, v)
        if path is None:
            raise Refused(404, f"version {n} of piece {piece_id} has no score")
        try:
            return uploads.notes_of(path)
        except CadenzaError as e:
            raise Refused(400, str(e).splitlines()[0]) from None

    @app.post("/api/radio", summary="Start the radio (or start it anew)")
    def radio_start(body: RadioRequest) -> dict:
        from cadenza.compose import composer
        from cadenza.score import parse_key
        from cadenza.studio.radio import Broadcast, Station

        try:
            known = {m["name"] for m in _models()}
            for name in body.models:
                if name not in known:
                    raise Refused(400, f"no model named {name!r}")
                composer.load(name)
            composer.check_bars(body.bars)
            key = parse_key(body.key) if body.key else None
        except CadenzaError as e:
            raise Refused(400, str(e).splitlines()[0]) from None
        if not body.models:
            raise Refused(400, "the radio needs at least one model")
        seed = body.seed if body.seed is not None else secrets.randbelow(2**31)
        with radio_lock:
            if app.state.radio is not None:
                app.state.radio.stop()
            station = Station(body.models, key, seed, body.bars)
            app.state.radio = Broadcast(root / "radio" / secrets.token_hex(6), station)
        return {"radio": {"models": body.models, "key": body.key, "seed": seed, "bars": body.bars}}

    def on_air():
        if app.state.radio is None:
            raise Refused(409, "the radio is not on: start it with POST /api/radio")
        return app.state.radio

    @app.get("/api/radio/{n}", summary="Piece n of the radio (from 1), with its notes, once it is written")
    def radio_piece(n: int) -> dict:
        broadcast = on_air()
        try:
            record = broadcast.piece(n - 1, timeout=30.0)
        except CadenzaError as e:
            raise Refused(503, str(e)) from None
        if record is None:
            if n < 1 or n - 1 <= max(broadcast.records, default=-1):
                raise Refused(404, f"radio piece {n} is gone (only the last {broadcast.keep} are kept)")
            raise Refused(503, f"radio piece {n} is not written yet", {"Retry-After": "2"})
        midi = broadcast.path(n - 1, ".mid")
        return {
            **record,
            "n": n,
            "audio": f"/api/radio/{n}/audio",
            "cover": f"/api/radio/{n}/cover",
            "notes": uploads.notes_of(midi) if midi is not None else None,
        }

    def radio_file(n: int, suffix: str, media: str):
        path = on_air().path(n - 1, suffix)
        if path is None or not path.exists():
            raise Refused(404, f"radio piece {n} is not there (not written yet, or gone)")
        # every start numbers its pieces from 1 again: a browser must not keep an earlier broadcast's file
        return FileResponse(path, media_type=media, headers={"Cache-Control": "no-store"})

    @app.delete("/api/radio", summary="Stop the radio")
    def radio_stop() -> dict:
        with radio_lock:
            if app.state.radio is not None:
                app.state.radio.stop()
                app.state.radio = None
        return {"radio": None}

    @app.get("/api/radio/{n}/audio", summary="Piece n of the radio as audio (Ogg Vorbis)")
    def radio_audio(n: int):
        return radio_file(n, ".ogg", "audio/ogg")

    @app.get("/api/radio/{n}/cover", summary="Piece n of the radio's cover picture")
    def radio_cover(n: int):
        return radio_file(n, ".cover.png", "image/png")

    return app


def _unreadable(request: Request, errors) -> str:
    """One sentence for a request the API could not read: bad JSON, a missing body, an unknown
    field, a value of the wrong type."""
    first = dict(errors[0]) if errors else {}
    kind, loc = first.get("type", ""), [str(x) for x in first.get("loc", ())]
    where = ".".join(x for x in loc if x != "body")
    if kind == "json_invalid":
        return f"the body is not valid JSON (near character {loc[-1] if len(loc) > 1 else '?'})"
    if loc[:1] == ["body"] and not where:
        if "json" not in request.headers.get("content-type", ""):
            return "send the request as JSON, with the header Content-Type: application/json"
        return "the request needs a JSON object as its body"
    if kind == "extra_forbidden":
        return f'no field {where!r} here (a command\'s options go inside "options")'
    if loc[:1] == ["path"]:
        return f"{loc[-1]} in the address must be a whole number"
    return f"{where or 'request'}: {first.get('msg', 'not understood')}"


def _evaluated(store: Store, body: CommandRequest) -> dict:
    """What evaluate reads: a scratch folder with the score of each piece's latest version."""
    if not body.pieces or body.piece is not None:
        raise Refused(400, "evaluate reads several pieces: give their ids as 'pieces'")
    folder = store.scratch_dir()
    try:
        for i, piece_id in enumerate(body.pieces):
            v = store.version(piece_id)
            path = _input_of(store, piece_id, v)
            if path is None:
                raise Refused(400, f"piece {piece_id} has no score to measure")
            shutil.copy(path, folder / f"{i + 1:03d}-{piece_id}{path.suffix}")
    except NotFound as e:
        shutil.rmtree(folder, ignore_errors=True)
        raise Refused(404, str(e)) from None
    except Refused:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return {"piece": None, "version": None, "path": folder, "pieces": list(body.pieces)}


def _input_of(store: Store, piece_id: str, version: dict) -> Path | None:
    """The score a command reads from a version: the file as uploaded; of one the studio wrote,
    its MIDI."""
    names: tuple[str, ...] = ("piece.mxl", "piece.abc", "piece.krn", "piece.mid", "piece.musicxml")
    if version["command"] != "upload":  # the MIDI holds every timing exactly (the MusicXML writer rounds 32nds)
        names = ("piece.mid", "piece.musicxml", "piece.abc")
    for name in names:
        if name in version["files"]:
            return store.file_path(piece_id, version["n"], name)
    return None


_MODELS: tuple[float, list[dict]] = (0.0, [])
MODELS_SECONDS = 30.0  # a model trained meanwhile appears within this


def _models() -> list[dict]:
    """The models a command may name (read again every MODELS_SECONDS)."""
    global _MODELS
    if time.monotonic() - _MODELS[0] > MODELS_SECONDS or not _MODELS[1]:
        _MODELS = (time.monotonic(), _read_models())
    return _MODELS[1]


def _read_models() -> list[dict]:
    from cadenza import hub
    from cadenza.families import of_meta

    out = []
    for path, meta in hub.list_models():  # (each of a known family: list_models leaves out the rest)
        kind = of_meta(meta, str(path / "model.json")).name
        n = meta.get("tokenizer", {}).get("n_voices") or meta.get("model", {}).get("n_voices")
        summary = ""
        card = path / "card.md"
        if card.exists():
            lines = [ln for ln in card.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
            summary = _sentences(lines[0], 200) if lines else ""
        from cadenza.theory import voice_names

        voices = voice_names(int(n)) if n else []
        out.append(
            {
                "name": path.name,
                "kind": kind,
                "voices": voices,
                "summary": summary,
                "about": _about(kind, voices, meta),
            }
        )
    return out


def _sentences(text: str, limit: int) -> str:
    """As many whole sentences of `text` as fit in `limit` characters (at least the first, cut at a word)."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(". "), cut.rfind("; "))
    return cut[: end + 1] if end > 0 else cut.rsplit(" ", 1)[0] + "…"


WRITES = {
    "leadsheet": "a melody with chord symbols",
    "orderless": "harmonizations and rewritten passages",
    "performer": "performances of a score",
    "accompaniment": "piano accompaniments",
    "benchmark": "nothing: it measures likelihood",
}


def _about(kind: str, voices: list[str], meta: dict) -> str:
    """What a model writes and what it learned from, in a musician's words: "Writes 4 voices
    (Soprano, Alto, Tenor, Bass). Learned from Bach's four-part chorales"."""
    from cadenza.data.corpus import CORPORA

    if kind == "voices":
        writes = "a melody" if len(voices) == 1 else f"{len(voices)} voices ({', '.join(voices)})"
    else:
        writes = WRITES.get(kind, kind)
    data = str(meta.get("train", {}).get("data") or "")
    sources = [s.strip() for s in data.split(",") if s.strip()]
    names = [CORPORA[s][2].split(" (")[0] if s in CORPORA else Path(s).name for s in sources]
    return f"Writes {writes}." + (f" Learned from {', '.join(names)}." if names else "")
