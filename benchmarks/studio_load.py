"""Load on the studio, on loopback only: --clients clients sending a mix of small requests for
--seconds. Every request must be answered (a result, or a clean refusal such as 429 with
Retry-After); none may crash (5xx); the server's memory must stay under 2 GB.

Starts `cadenza studio` (one job at a time, 8 waiting: the defaults) in a child process on a free
port with a fresh folder. Each client, in a loop, picks one of:
  - read: GET /api/models, /api/pieces, or a piece's file;
  - upload: POST /api/uploads (a 4-bar ABC tune);
  - write: POST /api/generate (4 bars, folk or chorales) or /api/harmonize (an uploaded tune),
    then polls its job until it ends (a 429 counts as a refusal, and the client waits as told).
Prints latency percentiles by kind, the answers by status, jobs finished, and the server's peak
memory (its own, and with its job processes); exits 1 if any request got a 5xx or no answer, or
the memory passed 2 GB.

    .venv/bin/python benchmarks/studio_load.py [--clients 50] [--seconds 120]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

TUNE = b"X:1\nT:Load\nM:4/4\nL:1/4\nK:D\nD E F G | A2 F D | E F G E | D4 |]\n"


def request(base: str, method: str, path: str, body: bytes | None = None, ctype: str | None = None):
    req = urllib.request.Request(base + path, data=body, method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            status, data, headers = r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        status, data, headers = e.code, e.read(), dict(e.headers)
    except OSError as e:
        status, data, headers = 0, str(e).encode(), {}
    return status, data, headers, time.perf_counter() - t0


def multipart(data: bytes) -> tuple[bytes, str]:
    boundary = "cadenzaload"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="t.abc"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=120.0)
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = tempfile.mkdtemp(prefix="cadenza-load-")
    server = subprocess.Popen(
        [sys.executable, "-m", "cadenza", "studio", "--port", str(port), "--dir", folder, "--no-browser"],
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if request(base, "GET", "/api/models")[0] == 200:
            break
        time.sleep(0.1)
    body, ctype = multipart(TUNE)
    status, data, _, _ = request(base, "POST", "/api/uploads", body, ctype)
    melody = json.loads(data)["piece"]["id"]
    latencies: dict[str, list[float]] = collections.defaultdict(list)
    statuses: collections.Counter = collections.Counter()
    jobs: collections.Counter = collections.Counter()
    lock = threading.Lock()
    peak = {"server": 0, "total": 0}
    end = time.time() + args.seconds

    def note(kind: str, status: int, seconds: float) -> None:
        with lock:
            latencies[kind].append(seconds)
            statuses[status] += 1

    def client(i: int) -> None:
        rng = random.Random(i)
        while time.time() < end:
            pick = rng.random()
            if pick < 0.5:
                path = rng.choice(["/api/models", "/api/pieces", f"/api/pieces/{melody}/versions/1/files/piece.abc"])
                status, _, _, t = request(base, "GET", path)
                note("read", status, t)
            elif pick < 0.7:
                status, _, _, t = request(base, "POST", "/api/uploads", body, ctype)
                note("upload", status, t)
            else:
                if rng.random() < 0.6:
                    options = {"model": rng.choice(["folk", "chorales"]), "bars": 4, "seed": rng.randrange(1000)}
                    payload, path = {"options": options}, "/api/generate"
                else:
                    payload, path = {"piece": melody, "options": {"seed": rng.randrange(1000)}}, "/api/harmonize"
                status, data, headers, t = request(base, "POST", path, json.dumps(payload).encode(), "application/json")
                note("submit", status, t)
                if status == 429:
                    time.sleep(min(float(headers.get("Retry-After", "1")), max(0.0, end - time.time())))
                    continue
                if status != 202:
                    continue
                job = json.loads(data)["job"]
                while job["state"] in ("queued", "running") and time.time() < end + 60:
                    time.sleep(0.5)
                    status, data, _, t = request(base, "GET", f"/api/jobs/{job['id']}")
                    note("poll", status, t)
                    if status != 200:
                        break
                    job = json.loads(data)
                with lock:
                    jobs[job["state"]] += 1

    def watch() -> None:
        while time.time() < end + 5:
            own = rss_kb(server.pid)
            total = own + sum(rss_kb(c) for c in children(server.pid))
            peak["server"], peak["total"] = max(peak["server"], own), max(peak["total"], total)
            time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    threads.append(threading.Thread(target=watch))
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    server.terminate()
    server.wait(timeout=30)
    print(f"{args.clients} clients for {args.seconds:g} s on loopback ({took:.0f} s with the last jobs' polls)")
    print(f"{'kind':<8} {'requests':>9} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    for kind, ts in sorted(latencies.items()):
        q = [x * 1000 for x in (statistics.quantiles(ts, n=100) if len(ts) > 1 else ts * 99)]
        print(f"{kind:<8} {len(ts):>9} {q[49]:>9.0f} {q[94]:>9.0f} {q[98]:>9.0f} {max(ts) * 1000:>9.0f}")
    print("answers by status: " + ", ".join(f"{s or 'no answer'}: {n}" for s, n in sorted(statuses.items())))
    crashes = sum(n for s, n in statuses.items() if s >= 500 or s == 0)
    print(f"5xx or unanswered: {crashes}")
    print("jobs accepted, by how they ended: " + ", ".join(f"{s}: {n}" for s, n in sorted(jobs.items())))
    print(f"peak memory: server {peak['server'] / 1024:.0f} MB, with its job processes {peak['total'] / 1024:.0f} MB")
    if crashes or peak["total"] > 2 * 1024 * 1024:
        print("FAILED: a request crashed or went unanswered, or memory passed 2 GB")
        sys.exit(1)


if __name__ == "__main__":
    main()
