/* Cadenza Studio: the page. Plain ES2017, no framework, no build step.
   Talks to the studio server's JSON API (/api/...); draws scores with OpenSheetMusicDisplay
   (served from /static/node_modules) and piano rolls on a canvas. */
(function () {
  "use strict";

  // ------------------------------------------------------------------ basics

  var TOKEN = new URLSearchParams(window.location.search).get("token") || "";
  var POLL_MS = 500;
  var INFILL_PARTS = 4; // `cadenza infill` rewrites pieces in four parts
  var PART_COLOURS = ["#c0392b", "#2471a3", "#1e8449", "#b9770e", "#7d3c98", "#117a65", "#a04000", "#5d6d7e"];
  var KEYS = [
    "C major", "G major", "D major", "A major", "E major", "B major", "F# major", "F major",
    "Bb major", "Eb major", "Ab major", "Db major",
    "A minor", "E minor", "B minor", "F# minor", "C# minor", "D minor", "G minor", "C minor",
    "F minor", "Bb minor",
  ];

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "class") e.className = attrs[k];
      else if (k === "dataset") Object.keys(attrs[k]).forEach(function (d) { e.dataset[d] = attrs[k][d]; });
      else e.setAttribute(k, attrs[k]);
    });
    if (text != null) e.textContent = text;
    return e;
  }
  function ordinal(n) {
    var s = ["th", "st", "nd", "rd"], v = n % 100;
    return n + (s[(v - 20) % 10] || s[v] || s[0]);
  }
  function intOrNull(input) {
    var v = String(input.value).trim();
    if (v === "") return null;
    var n = parseInt(v, 10);
    return isNaN(n) ? null : n;
  }
  function capital(s) { return s ? s.charAt(0).toUpperCase() + s.slice(1) : s; }
  function beatsText(x) { return String(Math.round(x * 1000) / 1000); }

  // pitch names as the command line writes and reads them (C4 = 60)
  var PITCH_CLASSES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
  function pitchName(p) { return PITCH_CLASSES[p % 12] + (Math.floor(p / 12) - 1); }
  function pitchNumber(text) {
    var t = String(text).trim();
    if (/^\d+$/.test(t)) return Number(t);
    var m = /^([A-Ga-g])([#b]*)(-?\d+)$/.exec(t);
    if (!m) return null;
    var p = { c: 0, d: 2, e: 4, f: 5, g: 7, a: 9, b: 11 }[m[1].toLowerCase()] + 12 * (Number(m[3]) + 1);
    for (var i = 0; i < m[2].length; i++) p += m[2][i] === "#" ? 1 : -1;
    return p;
  }
  /* fixed notes as --fix takes them, BAR:BEAT:VOICE=PITCH[/BEATS], one per comma or line; what
     does not read as one is left for the server to name in its error */
  function splitList(text) {
    return String(text).split(/[,;\n]+/).map(function (s) { return s.trim(); }).filter(Boolean);
  }
  function parseFixes(text) {
    return splitList(text).map(function (item) {
      var m = /^(\d+):(\d+(?:\.\d+)?):([^=]+)=([^/]+?)(?:\/(\d+(?:\.\d+)?))?$/.exec(item);
      if (!m) return null;
      var pitch = pitchNumber(m[4]);
      if (pitch == null) return null;
      return { text: item, bar: Number(m[1]), beat: Number(m[2]), voice: m[3].trim().toLowerCase(), pitch: pitch, beats: m[5] ? Number(m[5]) : 1 };
    }).filter(Boolean);
  }
  function when(iso) {
    if (!iso) return "";
    var d = new Date(typeof iso === "number" ? iso * 1000 : iso);
    if (isNaN(d.getTime())) return String(iso);
    var today = new Date();
    var time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (d.toDateString() === today.toDateString()) return "today " + time;
    return d.toLocaleDateString([], { day: "numeric", month: "short" }) + " " + time;
  }

  // ------------------------------------------------------------------ the API

  function ApiError(message, status, retryAfter) {
    this.name = "ApiError";
    this.message = message;
    this.status = status;
    this.retryAfter = retryAfter == null ? null : retryAfter; // seconds, when the server said to retry
  }
  ApiError.prototype = Object.create(Error.prototype);

  function withToken(url) {
    if (!TOKEN) return url;
    return url + (url.indexOf("?") >= 0 ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
  }

  async function request(method, path, body, as) {
    var opts = { method: method, headers: {} };
    if (TOKEN) opts.headers["Authorization"] = "Bearer " + TOKEN;
    if (body instanceof FormData) {
      opts.body = body;
    } else if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    var res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new ApiError("Cannot reach the Cadenza Studio server: is it still running?", 0);
    }
    if (!res.ok) {
      var message = null;
      try {
        var data = await res.json();
        if (data && typeof data.error === "string") message = data.error;
        else if (data && typeof data.detail === "string") message = data.detail;
      } catch (e) { /* not JSON */ }
      if (!message) {
        message = res.status === 401 || res.status === 403
          ? "The server did not accept this page's access key: open the address the studio printed, with its ?token=."
          : "The server could not do that (error " + res.status + ").";
      }
      var retry = parseFloat(res.headers.get("Retry-After"));
      throw new ApiError(message, res.status, isNaN(retry) ? null : retry);
    }
    if (as === "text") return res.text();
    if (res.status === 204) return null;
    return res.json();
  }
  var api = {
    get: function (p) { return request("GET", p); },
    post: function (p, b) { return request("POST", p, b); },
    del: function (p) { return request("DELETE", p); },
    text: function (p) { return request("GET", p, undefined, "text"); },
  };

  function pieceUrl(id) { return "/api/pieces/" + encodeURIComponent(id); }
  function versionUrl(id, n) { return pieceUrl(id) + "/versions/" + n; }
  function fileUrl(id, n, name) { return versionUrl(id, n) + "/files/" + encodeURIComponent(name); }

  // ------------------------------------------------------------------ the error banner

  function showError(err) {
    var msg = typeof err === "string" ? err : (err && err.message) || "Something went wrong.";
    if (err && !(err instanceof ApiError) && typeof err !== "string") console.error(err);
    var banner = $("#error");
    $(".banner-text", banner).textContent = msg;
    banner.hidden = false;
  }
  function clearError() { $("#error").hidden = true; }

  // ------------------------------------------------------------------ jobs

  /* Runs one API command as a job: shows a progress line with a Cancel button in `statusBox`,
     polls until the job ends, and resolves with the finished job. Rejects with an ApiError
     (whose message is one sentence) when it fails, and resolves with null when cancelled. */
  async function runJob(command, body, statusBox, label) {
    var reply = await api.post("/api/" + command, body);
    var job = reply.job;
    var line = el("div", { class: "job-line" });
    var spinner = el("span", { class: "spinner", "aria-hidden": "true" });
    var text = el("span", { class: "job-text" });
    var detail = el("span", { class: "job-log" });
    var cancel = el("button", { type: "button", class: "cancel-button secondary small" }, "Cancel");
    var bar = el("span", { class: "job-bar", hidden: "" });
    var fill = el("span", { class: "job-bar-fill" });
    bar.appendChild(fill);
    line.appendChild(spinner);
    line.appendChild(text);
    line.appendChild(bar);
    line.appendChild(cancel);
    line.appendChild(detail);
    statusBox.appendChild(line);
    var cancelled = false;
    cancel.addEventListener("click", async function () {
      cancel.disabled = true;
      cancelled = true;
      try { await api.del("/api/jobs/" + encodeURIComponent(job.id)); } catch (e) { showError(e); }
    });
    function paint(j) {
      var what = label || capital(command);
      if (j.state === "queued") {
        text.textContent = what + ": queued" + (j.position > 0 ? ", " + ordinal(j.position) + " in line" : "") + "…";
      } else if (j.state === "running") {
        var pr = j.progress || { written: 0, of: 1 };
        text.textContent = what + ": running " + Math.round(j.seconds || 0) + " s" +
          (pr.of > 1 ? " · " + pr.written + " of " + pr.of + " written" : "") + "…";
        bar.hidden = !(pr.of > 1);
        fill.style.width = (100 * pr.written / Math.max(1, pr.of)) + "%";
      }
      var last = String(j.log || "").trim().split("\n").pop();
      detail.textContent = last || "";
    }
    var misses = 0;
    try {
      for (;;) {
        paint(job);
        if (job.state === "done" || job.state === "failed" || job.state === "cancelled") break;
        await sleep(POLL_MS);
        try {
          job = await api.get("/api/jobs/" + encodeURIComponent(job.id));
          misses = 0;
        } catch (e) {
          if (e.status === 0 && ++misses < 10) continue; // a brief network hiccup
          throw e;
        }
      }
    } finally {
      line.remove();
    }
    if (job.state === "cancelled" || (cancelled && job.state !== "done")) {
      var note = el("div", { class: "job-line job-cancelled" }, (label || capital(command)) + ": cancelled.");
      statusBox.appendChild(note);
      setTimeout(function () { note.remove(); }, 4000);
      return null;
    }
    if (job.state === "failed") throw new ApiError(job.error || capital(command) + " did not finish.", 500);
    return job;
  }

  // ------------------------------------------------------------------ pieces and versions

  function fileWith(version, test) {
    var files = version.files || [];
    for (var i = 0; i < files.length; i++) if (test(files[i])) return files[i];
    return null;
  }
  function midiFile(v) { return fileWith(v, function (f) { return /\.midi?$/.test(f) && !/\.performed\.mid$/.test(f); }); }
  function performedFile(v) { return fileWith(v, function (f) { return /\.performed\.mid$/.test(f); }); }
  function scoreFile(v) { return fileWith(v, function (f) { return /\.(musicxml|xml)$/.test(f); }); }
  function audioFile(v) {
    return fileWith(v, function (f) { return /\.wav$/.test(f); })
      || fileWith(v, function (f) { return /\.(ogg|flac|mp3)$/.test(f); });
  }
  function abcFile(v) { return fileWith(v, function (f) { return /\.abc$/.test(f); }); }
  function planFile(v) { return fileWith(v, function (f) { return /\.json$/.test(f) && !/notes/.test(f); }); }
  function coverFile(v) { return fileWith(v, function (f) { return /\.cover\.png$/.test(f); }); }

  function versionOf(piece, n) {
    var vs = piece.versions || [];
    for (var i = 0; i < vs.length; i++) if (vs[i].n === n) return vs[i];
    return null;
  }
  function latest(piece) {
    return (piece.versions || []).reduce(function (m, v) { return v.n > m ? v.n : m; }, 1);
  }
  /* the version this one was made from, inside the same piece (or null) */
  function previousOf(piece, v) {
    if (v.parent && v.parent.piece === piece.id && versionOf(piece, v.parent.version)) return v.parent.version;
    for (var n = v.n - 1; n >= 1; n--) if (versionOf(piece, n)) return n;
    return null;
  }

  function describe(v) {
    var o = v.options || {};
    var bits;
    switch (v.command) {
      case "generate":
        bits = ["Composed"];
        if (o.model) bits.push("in the " + o.model + " style");
        if (o.key) bits.push("in " + o.key);
        break;
      case "harmonize":
        bits = ["Harmonized" + (o.voices ? " in " + o.voices + " voices" : "")];
        break;
      case "infill": {
        var vs = Array.isArray(o.voices) ? o.voices.join(", ") : o.voices;
        var span = String(o.bars || "").split("-");
        bits = ["Rewrote " + (!o.bars ? "a passage" : span[0] === span[1] || span.length < 2 ? "bar " + span[0] : "bars " + span[0] + "–" + span[1])];
        if (vs) bits.push("(" + vs + ")");
        break;
      }
      case "perform": {
        var who = { rules: "a musician", learned: "a pianist", none: "exactly as written" }[o.performer] || o.performer;
        bits = ["Performed" + (who ? " by " + who : "")];
        if (o.expressiveness != null && o.performer !== "none") bits.push("· expressiveness " + o.expressiveness);
        break;
      }
      case "continue": bits = ["Continued"]; break;
      case "arrange": bits = ["Played by a " + (o.style || "folk") + " band"]; break;
      case "chords": bits = ["Chord symbols written"]; break;
      case "upload": case null: case undefined: case "": bits = ["Uploaded"]; break;
      default: bits = [capital(v.command)];
    }
    // the seed this piece was drawn with (one request for n pieces gives each its own)
    var seed = o.seed_used != null ? o.seed_used : (Number(o.n) > 1 ? null : o.seed);
    if (seed != null && v.command !== "perform") bits.push("· seed " + seed);
    return bits.join(" ");
  }

  // ------------------------------------------------------------------ notation

  /* Draws the MusicXML at `url` into `box` as SVG. Returns the OSMD instance (or null). The
     caller re-renders it when the box changes width (OSMD's own autoResize would also redraw
     scores in hidden tabs, at zero width). */
  async function renderNotation(box, url, isStale) {
    box.innerHTML = "";
    if (!url) {
      box.appendChild(el("p", { class: "placeholder" }, "No score for this version."));
      return null;
    }
    if (!window.opensheetmusicdisplay) {
      box.appendChild(el("p", { class: "placeholder" },
        "The score viewer is not installed (run `make setup`); the piano roll below shows the notes."));
      return null;
    }
    box.appendChild(el("p", { class: "placeholder" }, "Drawing the score…"));
    var xml = await api.text(url);
    if (isStale && isStale()) return null;
    var target = el("div", { class: "osmd" });
    box.innerHTML = "";
    box.appendChild(target);
    var osmd = new window.opensheetmusicdisplay.OpenSheetMusicDisplay(target, {
      backend: "svg",
      autoResize: false,
      drawTitle: false,
      drawSubtitle: false,
      drawComposer: false,
      drawLyricist: false,
      drawCredits: false,
      drawPartNames: true,
      drawingParameters: "compacttight",
    });
    osmd.setLogLevel("error");
    try {
      await osmd.load(xml);
      osmd.zoom = 0.8;
      osmd.render();
      osmd.renderedWidth = box.clientWidth;
      return osmd;
    } catch (e) {
      console.warn(e);
      box.innerHTML = "";
      box.appendChild(el("p", { class: "placeholder" }, "This score could not be drawn; the piano roll below shows the notes."));
      return null;
    }
  }

  /* re-renders a card's score when its box has a new, visible width */
  function rerenderNotation(osmd, box) {
    var w = box.clientWidth;
    if (!osmd || w < 50 || Math.abs(w - (osmd.renderedWidth || 0)) < 4) return;
    try {
      osmd.render();
      osmd.renderedWidth = w;
    } catch (e) {
      console.warn(e);
    }
  }

  // ------------------------------------------------------------------ piano roll

  function PianoRoll(canvas, onSelect, onPin) {
    this.canvas = canvas;
    this.data = null;
    this.selection = null; // {from, to} bar numbers as notation counts them
    this.onSelect = onSelect;
    this.onPin = onPin; // called with pointAt(...) for a shift-click, or any click in pin mode
    this.pinMode = false;
    this.pins = []; // fixed notes, as parseFixes gives them, drawn outlined
    this.dragFrom = null;
    var self = this;
    canvas.addEventListener("pointerdown", function (e) {
      if (!self.data) return;
      if (self.onPin && (e.shiftKey || self.pinMode)) {
        var pt = self.pointAt(e.offsetX, e.offsetY);
        if (pt) self.onPin(pt);
        return;
      }
      canvas.setPointerCapture(e.pointerId);
      self.dragFrom = self.barAt(e.offsetX);
      self.setSelection(self.dragFrom, self.dragFrom, false);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (self.dragFrom == null) return;
      var b = self.barAt(e.offsetX);
      self.setSelection(Math.min(self.dragFrom, b), Math.max(self.dragFrom, b), false);
    });
    function end() {
      if (self.dragFrom == null) return;
      self.dragFrom = null;
      if (self.selection) self.onSelect(self.selection.from, self.selection.to);
    }
    canvas.addEventListener("pointerup", end);
    canvas.addEventListener("pointercancel", end);
  }
  /* The notes' time line (from /notes): beats from the start of the first bar. A piece with a
     pickup keeps it inside a whole bar 0 that starts at beat 0, the pickup's first note on beat
     `pickup_beats`; bar k then starts at k bars. Without a pickup bar 1 starts at beat 0. The roll
     shows the time from the first note (the pickup bar drawn as short as it sounds). */
  PianoRoll.prototype.hasPickup = function () { return !!(this.data && this.data.pickup_beats > 0); };
  PianoRoll.prototype.firstBar = function () { return this.hasPickup() ? 0 : 1; };
  PianoRoll.prototype.barCount = function () {
    var d = this.data;
    if (!d) return 0;
    var end = 0;
    d.parts.forEach(function (p) { p.notes.forEach(function (n) { if (n.end > end) end = n.end; }); });
    return Math.max(d.bars || 0, Math.ceil(end / d.beats_per_bar - 1e-6), 1);
  };
  PianoRoll.prototype.lastBar = function () { return this.data ? this.firstBar() + this.barCount() - 1 : 0; };
  PianoRoll.prototype.viewStart = function () { return this.hasPickup() ? this.data.pickup_beats : 0; };
  PianoRoll.prototype.totalBeats = function () { return this.barCount() * this.data.beats_per_bar; };
  /* beat where bar b starts (bar 0 is the pickup bar, when there is one) */
  PianoRoll.prototype.barStart = function (b) {
    return Math.max(this.viewStart(), (b - this.firstBar()) * this.data.beats_per_bar);
  };
  PianoRoll.prototype.x = function (beat) { return (beat - this.viewStart()) * this.pxPerBeat; };
  PianoRoll.prototype.barAt = function (x) {
    var beat = x / this.pxPerBeat + this.viewStart();
    var b = this.firstBar() + Math.floor(beat / this.data.beats_per_bar);
    return Math.max(this.firstBar(), Math.min(this.lastBar(), b));
  };
  /* bar b's first beat on the notes' time line (barStart without the clamp to the pickup) */
  PianoRoll.prototype.barBeat = function (b) { return (b - this.firstBar()) * this.data.beats_per_bar; };
  /* what is under (x, y): the beat, the pitch and, where a note is there, the note and its part */
  PianoRoll.prototype.pointAt = function (x, y) {
    if (!this.data || !this.rowH) return null;
    var beat = x / this.pxPerBeat + this.viewStart();
    var pitch = Math.round(this.hi - (y - this.head - 2 - this.rowH / 2) / this.rowH);
    var hit = null;
    this.data.parts.forEach(function (p, i) {
      p.notes.forEach(function (n) {
        if (n.pitch === pitch && n.start <= beat && beat < n.end) hit = { note: n, part: i };
      });
    });
    return { beat: beat, pitch: pitch, note: hit ? hit.note : null, part: hit ? hit.part : null };
  };
  PianoRoll.prototype.setData = function (data) { this.data = data; this.draw(); };
  PianoRoll.prototype.setSelection = function (from, to, notify) {
    if (from == null || to == null || !this.data) this.selection = null;
    else this.selection = { from: Math.min(from, to), to: Math.max(from, to) };
    this.draw();
    if (notify && this.selection) this.onSelect(this.selection.from, this.selection.to);
  };
  PianoRoll.prototype.draw = function () {
    var c = this.canvas, d = this.data;
    var dpr = window.devicePixelRatio || 1;
    var w = c.clientWidth || 600, h = c.clientHeight || 200;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    var g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.fillStyle = "#fbfaf7";
    g.fillRect(0, 0, w, h);
    if (!d) return;
    var head = 18;
    var total = this.totalBeats(), start = this.viewStart();
    this.pxPerBeat = w / (total - start);
    var lo = 127, hi = 0;
    d.parts.forEach(function (p) { p.notes.forEach(function (n) { lo = Math.min(lo, n.pitch); hi = Math.max(hi, n.pitch); }); });
    if (lo > hi) { lo = 60; hi = 72; }
    lo -= 2; hi += 2;
    var rowH = (h - head - 4) / (hi - lo + 1);
    var self = this;
    this.hi = hi; this.rowH = rowH; this.head = head;
    function y(p) { return head + 2 + (hi - p) * rowH; }

    // octave guides (the Cs)
    g.fillStyle = "#f0ede6";
    for (var p = lo; p <= hi; p++) if (p % 12 === 0) g.fillRect(0, y(p), w, rowH);

    // the selection
    if (this.selection) {
      var x0 = this.x(this.barStart(this.selection.from));
      var x1 = this.x(this.selection.to < this.lastBar() ? this.barStart(this.selection.to + 1) : total);
      g.fillStyle = "rgba(255, 196, 0, 0.22)";
      g.fillRect(x0, 0, x1 - x0, h);
      g.strokeStyle = "rgba(214, 137, 16, 0.9)";
      g.lineWidth = 1.5;
      g.strokeRect(x0 + 0.75, 0.75, x1 - x0 - 1.5, h - 1.5);
    }

    // beats, bar lines and bar numbers
    g.strokeStyle = "rgba(0,0,0,0.04)";
    g.lineWidth = 1;
    for (var beat = Math.ceil(start); beat < total; beat++) {
      var bx0 = Math.round(this.x(beat)) + 0.5;
      g.beginPath(); g.moveTo(bx0, head); g.lineTo(bx0, h); g.stroke();
    }
    g.font = "11px system-ui, sans-serif";
    g.textBaseline = "middle";
    var step = Math.max(1, Math.ceil(28 / (d.beats_per_bar * this.pxPerBeat)));
    for (var b = this.firstBar(); b <= this.lastBar(); b++) {
      var bx = Math.round(this.x(this.barStart(b))) + 0.5;
      g.strokeStyle = "#d8d2c4";
      g.beginPath(); g.moveTo(bx, head - 4); g.lineTo(bx, h); g.stroke();
      var label = b >= 1 ? (b - 1) % step === 0 : (this.x(this.barStart(1)) - bx) >= 16;
      if (label) {
        g.fillStyle = "#8a8272";
        g.fillText(String(b), bx + 3, head / 2);
      }
    }

    // the notes
    d.parts.forEach(function (part, i) {
      g.fillStyle = PART_COLOURS[i % PART_COLOURS.length];
      part.notes.forEach(function (n) {
        var nx = self.x(n.start), nw = Math.max(2, (n.end - n.start) * self.pxPerBeat - 1);
        g.globalAlpha = 0.85;
        g.fillRect(nx, y(n.pitch), nw, Math.max(2, rowH - 0.5));
      });
    });
    g.globalAlpha = 1;

    // the fixed notes: outlined, with a pin's head where they start
    g.strokeStyle = "#1b1b1b";
    g.fillStyle = "#1b1b1b";
    g.lineWidth = 1.5;
    this.pins.forEach(function (f) {
      if (f.pitch < lo || f.pitch > hi || f.bar < 1) return;
      var start = self.barBeat(f.bar) + f.beat - 1;
      var px = self.x(start), pw = Math.max(4, f.beats * self.pxPerBeat - 1), py = y(f.pitch);
      var ph = Math.max(3, rowH - 0.5);
      g.strokeRect(px - 1, py - 1, pw + 2, ph + 2);
      g.beginPath();
      g.arc(px, py + ph / 2, Math.max(2.5, ph / 2), 0, 2 * Math.PI);
      g.fill();
    });
  };

  // ------------------------------------------------------------------ a piece's card

  var cards = []; // every card on the page, to refresh the library after edits

  function PieceCard(piece, n) {
    var self = this;
    this.piece = piece;
    this.n = n || latest(piece);
    this.root = document.importNode($("#piece-card-template").content, true).firstElementChild;
    this.root.dataset.piece = piece.id;
    this.roll = new PianoRoll($(".pianoroll", this.root), function (from, to) {
      $(".region-from", self.root).value = from;
      $(".region-to", self.root).value = to;
    }, function (pt) { self.pin(pt); });
    this.busy = false;
    this.renderSeq = 0;
    this.notesCache = {};

    ["region-from", "region-to"].forEach(function (c) {
      $("." + c, self.root).addEventListener("input", function () { self.regionFromInputs(); });
    });
    $(".regen-button", this.root).addEventListener("click", function () { self.regenerate(); });
    $(".regen-fix", this.root).addEventListener("input", function () { self.showPins(); });
    $(".pin-mode", this.root).addEventListener("change", function () {
      self.roll.pinMode = this.checked;
      $(".pianoroll", self.root).classList.toggle("pinning", this.checked);
    });
    $(".undo-button", this.root).addEventListener("click", function () { self.undo(); });
    $(".perform-button", this.root).addEventListener("click", function () { self.perform(); });
    $(".harmonize-this-button", this.root).addEventListener("click", function () { self.harmonizeThis(); });
    $(".card-close", this.root).addEventListener("click", function () { self.remove(); });
    $(".card-cover-button", this.root).addEventListener("click", function () {
      var big = self.root.classList.toggle("cover-enlarged");
      this.title = big ? "Show the cover picture smaller" : "Show the cover picture larger";
    });
    var slider = $(".expressiveness", this.root);
    slider.addEventListener("input", function () {
      $(".expressiveness-value", self.root).textContent = Number(slider.value).toFixed(1);
    });
    $(".performer-select", this.root).addEventListener("change", function () {
      slider.disabled = this.value === "none";
    });
    this.osmd = null;
    var resizeTimer = null;
    this.resizeObserver = new ResizeObserver(function () {
      self.roll.draw();
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { rerenderNotation(self.osmd, $(".notation", self.root)); }, 250);
    });
    this.resizeObserver.observe($(".pianoroll", this.root));
    this.resizeObserver.observe($(".notation", this.root));
    cards.push(this);
  }

  PieceCard.prototype.remove = function () {
    this.resizeObserver.disconnect();
    this.root.remove();
    cards.splice(cards.indexOf(this), 1);
  };

  PieceCard.prototype.regionFromInputs = function () {
    var a = intOrNull($(".region-from", this.root)), b = intOrNull($(".region-to", this.root));
    if (a != null && b == null) b = a;
    if (b != null && a == null) a = b;
    this.roll.setSelection(a, b, false);
  };

  PieceCard.prototype.showPins = function () {
    this.roll.pins = parseFixes($(".regen-fix", this.root).value);
    this.roll.draw();
  };

  /* A click that pins a note: a note clicked is kept as it is while the passage around it is
     rewritten; a click between notes asks for a new note there (a beat long, in the ticked
     voice, or the ticked voice sounding nearest in pitch). Clicking a pinned note again unpins
     it. The region grows to hold the note. */
  PieceCard.prototype.pin = function (pt) {
    var d = this.roll.data, root = this.root;
    if (!d || !this.editable) return;
    clearError();
    var names = d.parts.map(function (p, i) { return (p.name || "Part " + (i + 1)).toLowerCase(); });
    var ticked = $all(".voice-checkbox", root).filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
    var voice, pitch, start, beats, bpb = d.beats_per_bar;
    if (pt.note) {
      voice = pt.part; pitch = pt.note.pitch; start = pt.note.start; beats = pt.note.end - pt.note.start;
      if (ticked.length && ticked.indexOf(names[voice]) < 0) {
        showError("The " + names[voice] + " is not ticked, so it stays as it is; tick it to rewrite it around this note.");
        return;
      }
    } else {
      start = Math.floor(pt.beat * 2) / 2;  // on the half beat
      if (ticked.length === 1) voice = names.indexOf(ticked[0]);
      else {
        var best = null;
        d.parts.forEach(function (p, i) {
          if (ticked.length && ticked.indexOf(names[i]) < 0) return;
          p.notes.forEach(function (n) {
            var gap = Math.abs(n.pitch - pt.pitch) + (n.start <= start && start < n.end ? 0 : 100);
            if (best == null || gap < best.gap) best = { gap: gap, voice: i };
          });
        });
        voice = best ? best.voice : -1;
      }
      if (voice < 0) { showError("Tick the voice the new note is for, then click again."); return; }
      pitch = pt.pitch;
      var barEnd = Math.floor(start / bpb + 1e-9) * bpb + bpb;
      beats = Math.min(1, barEnd - start);
    }
    var bar = this.roll.firstBar() + Math.floor(start / bpb + 1e-9);
    if (bar < 1) { showError("Notes in the pickup bar cannot be pinned; choose one from bar 1 on."); return; }
    var beat = start - this.roll.barBeat(bar) + 1;
    var input = $(".regen-fix", root);
    var fixes = parseFixes(input.value);
    var same = fixes.filter(function (f) { return f.bar === bar && Math.abs(f.beat - beat) < 1e-6 && f.voice === names[voice]; })[0];
    var items = splitList(input.value);
    if (same) items.splice(items.indexOf(same.text), 1);
    else items.push(bar + ":" + beatsText(beat) + ":" + names[voice] + "=" + pitchName(pitch) + (Math.abs(beats - 1) > 1e-6 ? "/" + beatsText(beats) : ""));
    input.value = items.join(", ");
    $(".more", root).open = true;
    if (!same) {
      // the region holds the note, and its voice is among those rewritten
      var lastBar = this.roll.firstBar() + Math.floor((start + beats) / bpb - 1e-9);
      var a = intOrNull($(".region-from", root)), b = intOrNull($(".region-to", root));
      $(".region-from", root).value = a == null ? bar : Math.min(a, bar);
      $(".region-to", root).value = b == null ? lastBar : Math.max(b, lastBar);
      this.regionFromInputs();
    }
    this.showPins();
  };

  PieceCard.prototype.show = async function (n) {
    var self = this, root = this.root, piece = this.piece;
    this.n = n;
    var seq = ++this.renderSeq;
    var v = versionOf(piece, n);
    if (!v) return;
    root.dataset.version = String(n);
    $(".card-title", root).textContent = piece.title || "Untitled";
    var count = (piece.versions || []).length;
    $(".card-meta", root).textContent =
      (count > 1 ? "Version " + n + " of " + count + " · " : "") + describe(v) + (v.created ? " · " + when(v.created) : "");

    // downloads
    var links = [
      [".download-mid", midiFile(v)], [".download-performed", performedFile(v)],
      [".download-musicxml", scoreFile(v)], [".download-abc", abcFile(v)], [".download-audio", audioFile(v)], [".download-plan", planFile(v)],
      [".download-cover", coverFile(v)],
    ];
    links.forEach(function (pair) {
      var a = $(pair[0], root);
      if (pair[1]) {
        a.href = withToken(fileUrl(piece.id, n, pair[1]));
        a.setAttribute("download", slug(piece.title) + "-v" + n + suffix(pair[1]));
        a.hidden = false;
      } else {
        a.removeAttribute("href");
        a.hidden = true;
      }
    });

    // the cover picture (drawn from the piece), beside the title
    var cover = coverFile(v), coverButton = $(".card-cover-button", root), coverImg = $(".card-cover", root);
    if (cover) {
      var coverSrc = withToken(fileUrl(piece.id, n, cover));
      if (coverImg.getAttribute("src") !== coverSrc) coverImg.src = coverSrc;
      coverButton.hidden = false;
    } else {
      coverImg.removeAttribute("src");
      coverButton.hidden = true;
      root.classList.remove("cover-enlarged");
    }

    // audio
    var audio = $(".player", root), wav = audioFile(v);
    if (wav) {
      var src = withToken(fileUrl(piece.id, n, wav));
      if (audio.getAttribute("src") !== src) audio.src = src;
      audio.hidden = false;
    } else {
      audio.removeAttribute("src");
      audio.hidden = true;
    }

    // history
    var list = $(".history-list", root);
    list.innerHTML = "";
    (piece.versions || []).slice().sort(function (a, b) { return a.n - b.n; }).forEach(function (ver) {
      var li = el("li");
      var btn = el("button", { type: "button", class: "history-item link" + (ver.n === n ? " current" : ""), dataset: { n: ver.n } },
        ver.n + ". " + describe(ver));
      btn.addEventListener("click", function () { self.show(ver.n); });
      li.appendChild(btn);
      list.appendChild(li);
    });
    $(".history", root).hidden = count < 2;
    this.updateButtons();

    // the score, and the notes (a performance keeps its parent's score)
    var scoreVersion = v, guard = 0;
    while (scoreVersion && !scoreFile(scoreVersion) && guard++ < 50) {
      var p = previousOf(piece, scoreVersion);
      scoreVersion = p ? versionOf(piece, p) : null;
    }
    var notation = $(".notation", root);
    var scoreUrl = scoreVersion ? fileUrl(piece.id, scoreVersion.n, scoreFile(scoreVersion)) : null;
    var notationDone = (scoreUrl && scoreUrl === this.scoreUrl && this.osmd && $(".notation svg", root)
      ? Promise.resolve()  // the same score as shown (a new performance of it)
      : renderNotation(notation, scoreUrl, function () { return seq !== self.renderSeq; }).then(function (osmd) {
        if (seq !== self.renderSeq) return;
        self.osmd = osmd;
        self.scoreUrl = scoreUrl;
      }))
      .catch(function (e) {
        if (seq !== self.renderSeq) return;
        self.osmd = null;
        self.scoreUrl = null;
        notation.innerHTML = "";
        notation.appendChild(el("p", { class: "placeholder" }, "The score could not be loaded: " + e.message));
      });
    var notesDone = this.loadNotes(n).then(function (data) {
      if (seq !== self.renderSeq) return;
      self.roll.setData(data);
      self.fillVoices(data);
      self.setEditable(data.parts.length);
      self.regionFromInputs();
      self.legend(data);
    }).catch(function (e) {
      if (seq !== self.renderSeq) return;
      self.roll.setData(null);
      $(".roll-legend", root).textContent = "The notes could not be loaded: " + e.message;
    });
    await Promise.all([notationDone, notesDone]);
  };

  PieceCard.prototype.loadNotes = async function (n) {
    if (!this.notesCache[n]) {
      var self = this;
      this.notesCache[n] = api.get(versionUrl(this.piece.id, n) + "/notes").catch(function (e) {
        delete self.notesCache[n];
        throw e;
      });
    }
    return this.notesCache[n];
  };

  PieceCard.prototype.legend = function (data) {
    var box = $(".roll-legend", this.root);
    box.innerHTML = "";
    data.parts.forEach(function (p, i) {
      var item = el("span", { class: "legend-item" });
      var sw = el("span", { class: "swatch" });
      sw.style.background = PART_COLOURS[i % PART_COLOURS.length];
      item.appendChild(sw);
      item.appendChild(document.createTextNode(p.name || "Part " + (i + 1)));
      box.appendChild(item);
    });
    box.appendChild(el("span", { class: "hint legend-hint" }, "Drag across bars to choose a passage; shift-click a note to keep it"));
  };

  PieceCard.prototype.fillVoices = function (data) {
    var box = $(".voices", this.root);
    var ticked = {};
    var before = $all(".voice-checkbox", box);
    before.forEach(function (c) { ticked[c.value] = c.checked; });
    // a harmonization's melody is the user's: the voices under it are ticked to start with
    var first = (this.piece.versions || [])[0];
    var protectMelody = !before.length && first && first.command === "harmonize";
    box.innerHTML = "";
    data.parts.forEach(function (p, i) {
      var name = p.name || "Part " + (i + 1);
      var label = el("label", { class: "check" });
      var box2 = el("input", { type: "checkbox", class: "voice-checkbox", value: name.toLowerCase() });
      box2.checked = protectMelody ? i > 0 : !!ticked[name.toLowerCase()];
      var sw = el("span", { class: "swatch" });
      sw.style.background = PART_COLOURS[i % PART_COLOURS.length];
      label.appendChild(box2);
      label.appendChild(sw);
      label.appendChild(document.createTextNode(name));
      box.appendChild(label);
    });
  };

  /* Rewriting a passage needs four voices (the harmonizer's); a melody can be harmonized first. */
  PieceCard.prototype.setEditable = function (parts) {
    var root = this.root;
    this.editable = parts === INFILL_PARTS;
    root.classList.toggle("not-editable", !this.editable);
    $(".edit-controls", root).hidden = !this.editable;
    $(".edit-note", root).hidden = this.editable;
    $(".harmonize-this-button", root).hidden = parts !== 1;
    $(".edit-note-text", root).textContent = parts === 1
      ? "This is a single melody. Harmonize it in four voices first; then you can rewrite any passage of the harmony."
      : "Rewriting a passage needs a piece in four voices (soprano, alto, tenor, bass); this one has " + parts + ".";
    this.updateButtons();
  };

  PieceCard.prototype.updateButtons = function () {
    var v = versionOf(this.piece, this.n);
    var prev = v ? previousOf(this.piece, v) : null;
    var undo = $(".undo-button", this.root);
    undo.disabled = this.busy || prev == null;
    undo.title = prev == null ? "This is the first version" : "Show version " + prev + " again (nothing is deleted)";
    $(".regen-button", this.root).disabled = this.busy || this.editable === false;
    $(".harmonize-this-button", this.root).disabled = this.busy;
    $(".perform-button", this.root).disabled = this.busy;
  };

  PieceCard.prototype.undo = function () {
    var v = versionOf(this.piece, this.n);
    var prev = v ? previousOf(this.piece, v) : null;
    if (prev != null) this.show(prev);
  };

  PieceCard.prototype.edit = async function (command, options, label) {
    clearError();
    this.busy = true;
    this.root.classList.add("busy");
    this.updateButtons();
    try {
      var job = await runJob(command, { piece: this.piece.id, version: this.n, options: options },
        $(".job-status", this.root), label);
      if (!job) return;
      this.piece = await api.get(pieceUrl(this.piece.id));
      await this.show(latest(this.piece));
      refreshLibrarySoon();
    } catch (e) {
      showError(e);
    } finally {
      this.busy = false;
      this.root.classList.remove("busy");
      this.updateButtons();
    }
  };

  PieceCard.prototype.harmonizeThis = async function () {
    clearError();
    this.busy = true;
    this.updateButtons();
    try {
      var job = await runJob("harmonize", { piece: this.piece.id, version: this.n, options: { voices: 4 } },
        $(".job-status", this.root), "Harmonizing");
      if (job) {
        var group = this.root.parentNode;
        await addCards(group.parentNode, job.pieces || [], group.nextSibling);
        refreshLibrarySoon();
      }
    } catch (e) {
      showError(e);
    } finally {
      this.busy = false;
      this.updateButtons();
    }
  };

  PieceCard.prototype.regenerate = function () {
    var root = this.root;
    var a = intOrNull($(".region-from", root)), b = intOrNull($(".region-to", root));
    if (a == null && b == null) {
      showError("Choose the bars to rewrite first: drag across the piano roll, or type the bar numbers.");
      return;
    }
    if (a == null) a = b;
    if (b == null) b = a;
    if (b < a) { var t = a; a = b; b = t; }
    var options = { bars: a + "-" + b };
    var voices = $all(".voice-checkbox", root).filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
    if (voices.length) options.voices = voices;
    var seed = intOrNull($(".regen-seed", root));
    if (seed != null) options.seed = seed;
    constraints(root, options);
    return this.edit("infill", options, "Rewriting " + (a === b ? "bar " + a : "bars " + a + "–" + b));
  };

  /* the scale, ranges and fixed notes typed under "Keep to ..." inside `root` (a card's or the
     Compose page's), into a command's options */
  function constraints(root, options) {
    var scale = $(".regen-scale", root).value.trim();
    if (scale) options.scale = scale;
    var ranges = splitList($(".regen-range", root).value);
    if (ranges.length) options.range = ranges;
    var fixes = splitList($(".regen-fix", root).value);
    if (fixes.length) options.fix = fixes;
  }

  PieceCard.prototype.perform = function () {
    var performer = $(".performer-select", this.root).value;
    var options = { performer: performer };
    if (performer !== "none") options.expressiveness = Number($(".expressiveness", this.root).value);
    return this.edit("perform", options, "Performing");
  };

  function slug(title) {
    return String(title || "piece").toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "piece";
  }
  function suffix(name) {
    var m = /(\.performed)?\.[a-z0-9]+$/i.exec(name);
    return m ? m[0] : "";
  }

  /* Adds cards for these piece ids, as one group, at the top of `container` (or before `ref`). */
  async function addCards(container, ids, ref) {
    var empty = $(".empty", container);
    if (empty) empty.remove();
    var pieces = await Promise.all(ids.map(function (id) { return api.get(pieceUrl(id)); }));
    var group = el("div", { class: "card-group" });
    container.insertBefore(group, ref === undefined ? container.firstChild : ref);
    var made = pieces.map(function (p) {
      var card = new PieceCard(p);
      group.appendChild(card.root);
      return card;
    });
    await Promise.all(made.map(function (c) { return c.show(c.n); }));
    return made;
  }

  // ------------------------------------------------------------------ tabs

  function selectTab(tab) {
    $all(".tab").forEach(function (t) {
      var on = t === tab;
      t.setAttribute("aria-selected", on ? "true" : "false");
      t.classList.toggle("active", on);
      document.getElementById(t.dataset.panel).hidden = !on;
    });
    if (tab.id === "tab-library") refreshLibrary();
    // canvases in a panel that was hidden have no size until shown
    cards.forEach(function (c) { c.roll.draw(); });
  }

  // ------------------------------------------------------------------ compose

  var models = [];

  async function loadStyles() {
    var select = $("#compose-arrange");
    var styles;
    try {
      styles = await api.get("/api/styles");
    } catch (e) {
      showError(e);
      return;
    }
    styles.forEach(function (st) {
      select.appendChild(el("option", { value: st.name, dataset: { about: st.description || "", meters: (st.meters || []).join(" ") } }, capital(st.name)));
    });
  }
  function showStyleSummary() {
    var opt = $("#compose-arrange").selectedOptions[0];
    var meters = opt && opt.dataset.meters ? opt.dataset.meters.split(" ") : [];
    $("#compose-arrange-summary").textContent = opt && opt.value
      ? capital(opt.dataset.about || "") + (meters.length ? ". Plays in " + meters.join(", ") + "; with the time signature on “Style's usual” it plays in " + meters[0] + "." : "")
      : "";
  }

  async function loadModels() {
    var select = $("#compose-model");
    var all;
    try {
      all = await api.get("/api/models");
    } catch (e) {
      select.innerHTML = "<option value=''>(unavailable)</option>";
      $("#radio-models").innerHTML = "<span class='hint'>(unavailable)</span>";
      showError(e);
      return;
    }
    models = all.filter(function (m) { return m.kind === "voices" || m.kind === "leadsheet"; });
    fillRadioModels(all.filter(function (m) { return m.kind === "voices"; }));
    select.innerHTML = "";
    if (!models.length) {
      select.appendChild(el("option", { value: "" }, "(no composing models installed)"));
      return;
    }
    models.forEach(function (m) {
      var voices = m.kind === "leadsheet" ? " — melody and chords"
        : m.voices && m.voices.length ? " — " + (m.voices.length === 1 ? "melody" : m.voices.length + " voices") : "";
      select.appendChild(el("option", { value: m.name }, capital(m.name) + voices));
    });
    var preferred = models.filter(function (m) { return m.name === "chorales"; })[0];
    if (preferred) select.value = preferred.name;
    showModelSummary();
  }
  function chosenModel() {
    return models.filter(function (x) { return x.name === $("#compose-model").value; })[0] || null;
  }
  function showModelSummary() {
    var m = chosenModel();
    $("#compose-model-summary").textContent = m ? m.about || m.summary || "" : "";
    $("#compose-arrange-row").hidden = !(m && m.kind === "leadsheet");
    var voices = m && m.voices && m.voices.length ? m.voices : (m && m.kind === "leadsheet" ? ["Melody"] : []);
    $("#compose-voices-hint").textContent = voices.length
      ? "Ranges and fixed notes name the voices: " + voices.map(function (v) { return v.toLowerCase(); }).join(", ") + ". Bars and beats count from 1."
      : "";
  }

  function fillKeys(select, none) {
    select.appendChild(el("option", { value: "" }, none));
    var groups = { major: el("optgroup", { label: "Major" }), minor: el("optgroup", { label: "Minor" }) };
    KEYS.forEach(function (k) {
      groups[k.split(" ")[1]].appendChild(el("option", { value: k }, k.replace("b ", "♭ ").replace("# ", "♯ ")));
    });
    select.appendChild(groups.major);
    select.appendChild(groups.minor);
  }

  // the form: a row of sections, each a label and a length in bars
  function addSection(label, bars) {
    var box = $("#form-sections");
    var rows = $all(".section", box);
    if (!label) {
      // the next letter after the highest used
      var used = rows.map(function (r) { return $(".section-label", r).value.trim().toUpperCase().charCodeAt(0) || 64; });
      label = String.fromCharCode(Math.min(90, Math.max.apply(null, [64].concat(used)) + 1));
      if (rows.length === 0) label = "A";
    }
    if (!bars) {
      var last = rows[rows.length - 1];
      bars = last ? intOrNull($(".section-bars", last)) || 8 : 8;
    }
    var row = el("div", { class: "section" });
    var lab = el("input", { type: "text", class: "section-label", value: label, maxlength: "3", "aria-label": "Section name", title: "Section name: repeat a letter to repeat its material, add ' for a variation (A')" });
    var num = el("input", { type: "number", class: "section-bars", min: "1", max: "64", value: String(bars), "aria-label": "Bars in this section" });
    var unit = el("span", { class: "unit" }, "bars");
    var del = el("button", { type: "button", class: "section-remove link", "aria-label": "Remove this section", title: "Remove" }, "×");
    del.addEventListener("click", function () { row.remove(); formChanged(); });
    lab.addEventListener("input", formChanged);
    num.addEventListener("input", formChanged);
    row.appendChild(lab); row.appendChild(num); row.appendChild(unit); row.appendChild(del);
    box.appendChild(row);
    formChanged();
  }
  function formString() {
    return $all("#form-sections .section").map(function (r) {
      var label = $(".section-label", r).value.trim().replace(/\s+/g, "");
      var bars = intOrNull($(".section-bars", r));
      return label && bars ? label + bars : null;
    }).filter(Boolean).join(" ");
  }
  function formChanged() {
    var form = formString();
    var bars = $("#compose-bars");
    if (form) {
      var total = $all("#form-sections .section").reduce(function (s, r) { return s + (intOrNull($(".section-bars", r)) || 0); }, 0);
      bars.value = total;
      bars.disabled = true;
      $("#form-summary").textContent = "Form " + form + " · " + total + " bars in all";
    } else {
      bars.disabled = false;
      $("#form-summary").textContent = "No form: the composer plans one.";
    }
  }

  async function compose(ev) {
    ev.preventDefault();
    clearError();
    var model = $("#compose-model").value;
    if (!model) { showError("Choose a model to compose with first."); return; }
    var options = { model: model };
    var key = $("#compose-key").value; if (key) options.key = key;
    var meter = $("#compose-meter").value; if (meter) options.meter = meter;
    var form = formString();
    if (form) options.form = form;
    else {
      var bars = intOrNull($("#compose-bars"));
      if (bars == null || bars < 1) { showError("Give the length in bars (1 or more)."); return; }
      options.bars = bars;
    }
    var tempo = intOrNull($("#compose-tempo")); if (tempo != null) options.tempo = tempo;
    var n = intOrNull($("#compose-n")); if (n != null && n > 1) options.n = n;
    var seed = intOrNull($("#compose-seed")); if (seed != null) options.seed = seed;
    options.performer = $("#compose-performer").value;
    constraints($("#compose-more"), options);
    var m = chosenModel();
    var style = m && m.kind === "leadsheet" ? $("#compose-arrange").value : "";
    if (style && !options.meter) {  // a waltz band plays a tune in 3/4: the tune is written in its meter
      var styleMeters = ($("#compose-arrange").selectedOptions[0].dataset.meters || "").split(" ").filter(Boolean);
      if (styleMeters.length) options.meter = styleMeters[0];
    }

    var button = $("#compose-button");
    button.disabled = true;
    try {
      var job = await runJob("generate", { options: options }, $("#compose-status"), "Composing");
      var pieces = job ? job.pieces || [] : [];
      if (job && style) {
        // each lead sheet played by the band; the lead sheets themselves stay in My pieces
        var arranged = [];
        for (var i = 0; i < pieces.length; i++) {
          var arrangeOptions = { style: style, performer: options.performer };
          if (seed != null) arrangeOptions.seed = seed + i;
          var done = await runJob("arrange", { piece: pieces[i], options: arrangeOptions }, $("#compose-status"),
            "Arranging" + (pieces.length > 1 ? " " + (i + 1) + " of " + pieces.length : ""));
          if (!done) break;
          arranged = arranged.concat(done.pieces || []);
        }
        pieces = arranged;
      }
      if (pieces.length) {
        await addCards($("#compose-results"), pieces);
        refreshLibrarySoon();
      }
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ harmonize

  function showChosenFile() {
    var input = $("#harmonize-file");
    var f = input.files && input.files[0];
    $("#harmonize-filename").textContent = f ? "Chosen: " + f.name : "";
    $("#harmonize-drop").classList.toggle("has-file", !!f);
  }

  function setupDropZone() {
    var zone = $("#harmonize-drop"), input = $("#harmonize-file");
    ["dragenter", "dragover"].forEach(function (t) {
      zone.addEventListener(t, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      zone.addEventListener(t, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        showChosenFile();
      }
    });
    input.addEventListener("change", showChosenFile);
  }

  async function harmonize(ev) {
    ev.preventDefault();
    clearError();
    var file = $("#harmonize-file").files[0];
    var abc = $("#harmonize-abc").value.trim();
    if (!file && !abc) {
      showError("Choose a melody file (or type one in ABC) to harmonize.");
      return;
    }
    var form = new FormData();
    if (file) form.append("file", file, file.name);
    else form.append("abc", abc);
    var options = { voices: Number($("#harmonize-voices").value) };
    var n = intOrNull($("#harmonize-n")); if (n != null && n > 1) options.n = n;
    var seed = intOrNull($("#harmonize-seed")); if (seed != null) options.seed = seed;

    var button = $("#harmonize-button");
    var status = $("#harmonize-status");
    button.disabled = true;
    var reading = el("div", { class: "job-line" });
    reading.appendChild(el("span", { class: "spinner", "aria-hidden": "true" }));
    reading.appendChild(el("span", { class: "job-text" }, "Reading the melody…"));
    status.appendChild(reading);
    try {
      var uploaded;
      try {
        uploaded = await request("POST", "/api/uploads", form);
      } finally {
        reading.remove();
      }
      var job = await runJob("harmonize", { piece: uploaded.piece.id, options: options }, status, "Harmonizing");
      if (job) {
        await addCards($("#harmonize-results"), job.pieces || []);
        refreshLibrarySoon();
      }
    } catch (e) {
      showError(e);
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ library

  var libraryTimer = null;
  function refreshLibrarySoon() {
    clearTimeout(libraryTimer);
    libraryTimer = setTimeout(function () {
      if (!$("#panel-library").hidden) refreshLibrary();
    }, 300);
  }

  async function refreshLibrary() {
    var list = $("#library-list");
    var pieces;
    try {
      pieces = await api.get("/api/pieces");
    } catch (e) {
      showError(e);
      return;
    }
    list.innerHTML = "";
    if (!pieces.length) {
      list.appendChild(el("li", { class: "empty" }, "No pieces yet: compose or harmonize one and it will be kept here."));
      return;
    }
    pieces.forEach(function (p) {
      var li = el("li", { class: "library-item" });
      var v = versionOf(p, latest(p)) || {};
      var thumb = el("span", { class: "library-thumb" });
      var cover = coverFile(v);
      if (cover) thumb.appendChild(el("img", { src: withToken(fileUrl(p.id, v.n, cover)), alt: "", loading: "lazy" }));
      var title = el("span", { class: "library-title" }, p.title || "Untitled");
      var meta = el("span", { class: "hint" },
        describe(versionOf(p, 1) || v) + " · " + when(p.created) +
        ((p.versions || []).length > 1 ? " · " + p.versions.length + " versions" : ""));
      var open = el("button", { type: "button", class: "secondary small library-open" }, "Open");
      open.addEventListener("click", async function () {
        var box = $("#library-results");
        var existing = $all(".piece-card", box).filter(function (c) { return c.dataset.piece === p.id; })[0];
        if (existing) { existing.scrollIntoView({ behavior: "smooth" }); return; }
        try {
          var made = await addCards(box, [p.id]);
          made[0].root.scrollIntoView({ behavior: "smooth" });
        } catch (e) { showError(e); }
      });
      li.appendChild(thumb); li.appendChild(title); li.appendChild(meta); li.appendChild(open);
      list.appendChild(li);
    });
  }

  // ------------------------------------------------------------------ radio

  /* The radio plays piece after piece of /api/radio/N through two <audio> elements: while one
     plays, the next piece (asked for as soon as this one starts) loads in the other, which starts
     on 'ended', so nothing is heard between them. Start and Stop move `session` on; every reply
     and event of an earlier session is ignored. */
  var RADIO_BEHIND_S = 3;  // seconds of music the roll shows left of the play line
  var RADIO_AHEAD_S = 9;   // ... and right of it
  var RADIO_KEEP = 24;     // lines in the list of what has played
  var radio = {
    session: 0,
    on: false,
    players: [],     // the two <audio> elements
    previous: null,  // slots: {piece, audio, notes, lo, hi, bars, ...}
    current: null,
    next: null,      // loaded, waiting for the current piece to end
    waiting: false,  // the current piece ended before the next one was ready
    frame: 0,
    lo: null, hi: null,  // the roll's pitch range, eased towards what it shows
  };

  function mmss(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0));
    return Math.floor(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }

  function radioStatus(text, spinning) {
    var box = $("#radio-status");
    box.innerHTML = "";
    if (!text) return;
    var line = el("div", { class: "job-line" });
    if (spinning) line.appendChild(el("span", { class: "spinner", "aria-hidden": "true" }));
    line.appendChild(el("span", { class: "job-text" }, text));
    box.appendChild(line);
  }

  function radioButtons() {
    $("#radio-start").textContent = radio.on ? "Restart" : "Start";
    $("#radio-start").title = radio.on ? "Start the radio anew with these settings" : "";
    $("#radio-stop").disabled = !radio.on;
    $("#radio-on-air").hidden = !radio.on;
  }

  /* A piece and the <audio> it plays in. Its notes are in written beats; the audio is a
     performance, so beats are spread evenly over the time it sounds (near enough for a roll). */
  function radioSlot(piece, audio) {
    var data = piece.notes || { parts: [], beats_per_bar: 4, pickup_beats: 0 };
    var first = Infinity, last = -Infinity, lo = 127, hi = 0;
    data.parts.forEach(function (p) {
      p.notes.forEach(function (n) {
        first = Math.min(first, n.start); last = Math.max(last, n.end);
        lo = Math.min(lo, n.pitch); hi = Math.max(hi, n.pitch);
      });
    });
    if (!isFinite(first)) { first = 0; last = 1; lo = 60; hi = 72; }
    var seconds = Number(piece.seconds) || 1;
    var sounding = seconds > 2 ? seconds - 1 : seconds; // each piece ends with a breath of a second
    var perBeat = sounding / Math.max(1e-6, last - first);
    function t(beat) { return (beat - first) * perBeat; }
    var notes = [];
    data.parts.forEach(function (p, i) {
      p.notes.forEach(function (n) { notes.push({ t0: t(n.start), t1: t(n.end), pitch: n.pitch, part: i }); });
    });
    var bars = [], bpb = data.beats_per_bar || 4, pickup = data.pickup_beats > 0;
    for (var k = Math.ceil(first / bpb - 1e-6); k * bpb < last - 1e-6; k++) {
      bars.push({ t: t(k * bpb), n: pickup ? k : k + 1 });
    }
    return {
      piece: piece, audio: audio, notes: notes, bars: bars, lo: lo, hi: hi, seconds: seconds, ended: null,
      /* how long it plays: the audio's own length once known */
      length: function () {
        if (this.ended != null) return this.ended;
        var d = this.audio.duration;
        return isFinite(d) && d > 0 ? d : this.seconds;
      },
    };
  }

  /* A radio file's address. Every start of the radio numbers its pieces from 1 again, so the
     address carries the start too: a browser must not take a new piece 1 from its cache of the old. */
  function radioUrl(path) {
    return withToken(path + (path.indexOf("?") >= 0 ? "&" : "?") + "start=" + radio.stamp);
  }

  function radioFreePlayer() {
    return radio.players.filter(function (p) { return !radio.current || p !== radio.current.audio; })[0];
  }

  /* Piece n once it is written: the server waits up to 30 s for it, then asks to be asked again. */
  async function radioFetch(n, session) {
    var hiccups = 0;
    for (;;) {
      if (session !== radio.session) return null;
      try {
        var piece = await api.get("/api/radio/" + n);
        return session === radio.session ? piece : null;
      } catch (e) {
        if (session !== radio.session) return null;
        if (e.status === 503 && e.retryAfter != null) { await sleep(Math.max(0.5, e.retryAfter) * 1000); continue; }
        if (e.status === 0 && ++hiccups < 10) { await sleep(2000); continue; }
        throw e;
      }
    }
  }

  /* Fetches piece n and loads it into the free <audio>, to start when the current one ends. */
  async function radioQueue(n, session) {
    var piece;
    for (var skipped = 0; ; skipped++) {
      try {
        piece = await radioFetch(n, session);
        break;
      } catch (e) {
        if (session !== radio.session) return;
        if (e.status === 404 && skipped < 12) { n++; continue; } // gone already: on to a newer one
        radioHalt();
        if (e.status === 409) e = new ApiError("The radio was turned off on the server (was it restarted?): press Start.", 409);
        radioStatus("");
        showError(e);
        return;
      }
    }
    if (!piece) return;
    piece.audioUrl = radioUrl(piece.audio);
    piece.coverUrl = radioUrl(piece.cover);
    var audio = radioFreePlayer();
    audio.src = piece.audioUrl;
    audio.load();
    var cover = new Image(); // fetched now, shown at once later
    cover.src = piece.coverUrl;
    radio.next = radioSlot(piece, audio);
    radio.next.cover = cover;
    $("#radio-next").textContent = "Next: piece " + piece.n + ", " + capital(piece.model) + " in " + piece.key +
      (piece.reprise_of != null ? ", with a theme from piece " + (piece.reprise_of + 1) : "") + " (ready)";
    if (radio.waiting) radioAdvance();
  }

  /* The current piece ended (or none has started): the next one plays, and the one after is asked for. */
  function radioAdvance() {
    var session = radio.session;
    if (!radio.next) {
      radio.waiting = true;
      radioStatus(radio.current ? "Writing the next piece…" : "Writing the first piece…", true);
      return;
    }
    var slot = radio.next;
    radio.next = null;
    radio.waiting = false;
    if (radio.current) {
      radio.current.ended = radio.current.length();
      radio.previous = radio.current;
    }
    radio.current = slot;
    var playing = slot.audio.play();
    if (playing && playing.catch) {
      playing.catch(function (e) {
        if (session !== radio.session || (e && e.name === "AbortError")) return;
        radioHalt();
        radioStatus("");
        showError(e && e.name === "NotAllowedError"
          ? "The browser did not let the radio play: press Start to begin."
          : "The radio could not play piece " + slot.piece.n + " (" + (e && e.message || e) + ").");
      });
    }
    radioShow(slot);
    $("#radio-next").textContent = "Writing the next piece…";
    radioAnimate();
    radioQueue(slot.piece.n + 1, session);
  }

  function radioShow(slot) {
    var p = slot.piece;
    $("#radio-idle").hidden = true;
    $("#radio-now").hidden = false;
    $("#radio-now").classList.remove("stopped");
    $("#radio-label-text").textContent = "Now playing";
    var cover = $("#radio-cover");
    cover.src = p.coverUrl;
    $("#radio-number").textContent = "· piece " + p.n;
    $("#radio-title").textContent = p.title || "Piece " + p.n;
    $("#radio-model").textContent = capital(p.model);
    $("#radio-piece-key").textContent = p.key;
    $("#radio-form-text").textContent = p.form || "—";
    var reprise = $("#radio-reprise");
    reprise.hidden = p.reprise_of == null;
    reprise.textContent = p.reprise_of == null ? "" : "Returning theme from piece " + (p.reprise_of + 1);
    var status = radio.settings;
    radioStatus("On air" + (status ? " · seed " + status.seed + " · " + status.bars + " bars a piece" : ""));

    var legend = $("#radio-legend");
    legend.innerHTML = "";
    ((p.notes && p.notes.parts) || []).forEach(function (part, i) {
      var item = el("span", { class: "legend-item" });
      var sw = el("span", { class: "swatch" });
      sw.style.background = PART_COLOURS[i % PART_COLOURS.length];
      item.appendChild(sw);
      item.appendChild(document.createTextNode(part.name || "Part " + (i + 1)));
      legend.appendChild(item);
    });
    legend.appendChild(el("span", { class: "hint legend-hint" }, "The line is where the music is"));

    // what has played: newest first, the piece playing marked
    var list = $("#radio-played");
    $all(".radio-played-item.current", list).forEach(function (li) { li.classList.remove("current"); });
    var li = el("li", { class: "radio-played-item current", dataset: { n: p.n } });
    li.appendChild(el("img", { src: p.coverUrl, alt: "" }));
    var text = el("span", { class: "radio-played-text" });
    text.appendChild(el("b", null, p.n + ". " + capital(p.model) + " in " + p.key));
    text.appendChild(el("span", { class: "hint" }, " · " + (p.form ? p.form + " · " : "") + mmss(p.seconds) +
      (p.reprise_of != null ? " · theme of piece " + (p.reprise_of + 1) + " returns" : "")));
    li.appendChild(text);
    li.appendChild(el("span", { class: "radio-now-badge" }, "now"));
    list.insertBefore(li, list.firstChild);
    while (list.children.length > RADIO_KEEP) list.lastChild.remove();
    $("#radio-history").hidden = false;

    if ("mediaSession" in navigator && window.MediaMetadata) {
      try {
        navigator.mediaSession.metadata = new window.MediaMetadata({
          title: p.title || "Piece " + p.n,
          artist: "Cadenza radio",
          album: capital(p.model) + " · " + p.key,
          artwork: [{ src: new URL(p.coverUrl, window.location.href).href, sizes: "256x256", type: "image/png" }],
        });
      } catch (e) { /* no media session here */ }
    }
  }

  // the moving piano roll: time runs right to left past a fixed play line

  function radioAnimate() {
    if (!radio.frame) radio.frame = requestAnimationFrame(radioFrame);
  }
  function radioFrame() {
    radio.frame = 0;
    radioDraw();
    if (radio.on) radio.frame = requestAnimationFrame(radioFrame);
  }

  function radioDraw() {
    var c = $("#radio-roll"), cur = radio.current;
    var w = c.clientWidth, h = c.clientHeight;
    if (!w || !h || !cur) return; // hidden
    var dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
      c.width = Math.round(w * dpr);
      c.height = Math.round(h * dpr);
    }
    var g = c.getContext("2d");
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.fillStyle = "#fbfaf7";
    g.fillRect(0, 0, w, h);

    var now = radio.on ? cur.audio.currentTime || 0 : radio.stoppedAt || 0, length = cur.length();
    var pxPerS = w / (RADIO_BEHIND_S + RADIO_AHEAD_S), playX = Math.round(RADIO_BEHIND_S * pxPerS);
    var shown = [{ slot: cur, at: 0 }];
    if (radio.previous) shown.unshift({ slot: radio.previous, at: -radio.previous.length() });
    if (radio.next) shown.push({ slot: radio.next, at: length });
    shown = shown.filter(function (s) {
      return s.at - now < RADIO_AHEAD_S && s.at + s.slot.length() - now > -RADIO_BEHIND_S;
    });
    function x(t) { return playX + (t - now) * pxPerS; }

    // the pitch range: what is on screen, eased so that a new piece does not jump
    var lo = 127, hi = 0;
    shown.forEach(function (s) { lo = Math.min(lo, s.slot.lo); hi = Math.max(hi, s.slot.hi); });
    lo -= 2; hi += 2;
    if (radio.lo == null || !radio.on) { radio.lo = lo; radio.hi = hi; }
    radio.lo += (lo - radio.lo) * 0.06;
    radio.hi += (hi - radio.hi) * 0.06;
    var head = 18, rowH = (h - head - 4) / (radio.hi - radio.lo + 1);
    function y(p) { return head + 2 + (radio.hi - p) * rowH; }

    g.fillStyle = "#f0ede6"; // the Cs
    for (var p = Math.ceil(radio.lo); p <= radio.hi; p++) if (p % 12 === 0) g.fillRect(0, y(p), w, rowH);

    g.font = "11px system-ui, sans-serif";
    g.textBaseline = "middle";
    shown.forEach(function (s) {
      var slot = s.slot;
      // bar lines and numbers
      slot.bars.forEach(function (b, i) {
        var bx = Math.round(x(s.at + b.t)) + 0.5;
        if (bx < -40 || bx > w + 1) return;
        g.strokeStyle = "#e2dccf";
        g.lineWidth = 1;
        g.beginPath(); g.moveTo(bx, head - 4); g.lineTo(bx, h); g.stroke();
        if (i > 0) {
          g.fillStyle = "#a39b8b";
          g.fillText(String(b.n), bx + 3, head / 2);
        }
      });
      // where the piece begins, and its name (kept in view while the piece is)
      var sx = Math.round(x(s.at)) + 0.5;
      if (sx >= 0 && sx < w) {
        g.strokeStyle = "#2f5d8a";
        g.lineWidth = 2;
        g.beginPath(); g.moveTo(sx, 0); g.lineTo(sx, h); g.stroke();
      }
      var name = slot.piece.n + " · " + capital(slot.piece.model) + " · " + slot.piece.key;
      g.font = "600 11px system-ui, sans-serif";
      var nameW = g.measureText(name).width;
      var nameX = Math.max(sx + 5, 4), end = x(s.at + slot.length());
      nameX = Math.min(nameX, end - nameW - 10);
      if (nameX >= 0 && nameX < w) { // gone once it no longer fits in the piece
        g.fillStyle = "#fbfaf7";
        g.fillRect(nameX - 3, 1, nameW + 6, head - 2);
        g.fillStyle = "#244a6e";
        g.fillText(name, nameX, head / 2);
      }
      g.font = "11px system-ui, sans-serif";
      // the notes: what has sounded faint, what sounds now bright
      var t = now - s.at;
      slot.notes.forEach(function (n) {
        var nx = x(s.at + n.t0), nw = Math.max(2, (n.t1 - n.t0) * pxPerS - 1);
        if (nx > w || nx + nw < 0) return;
        var sounding = n.t0 <= t && t < n.t1;
        g.globalAlpha = sounding ? 1 : n.t1 <= t ? 0.35 : 0.8;
        g.fillStyle = PART_COLOURS[n.part % PART_COLOURS.length];
        var ny = y(n.pitch), nh = Math.max(2, rowH - 0.5);
        g.fillRect(nx, ny, nw, nh);
        if (sounding) {
          g.strokeStyle = "#24211c";
          g.lineWidth = 1;
          g.strokeRect(nx + 0.5, ny + 0.5, nw - 1, nh - 1);
        }
      });
      g.globalAlpha = 1;
    });

    // the play line
    g.strokeStyle = "rgba(214, 137, 16, 0.95)";
    g.lineWidth = 2;
    g.beginPath(); g.moveTo(playX, 0); g.lineTo(playX, h); g.stroke();

    $("#radio-progress-fill").style.width = Math.min(100, 100 * now / Math.max(0.001, length)) + "%";
    $("#radio-time").textContent = mmss(now) + " / " + mmss(length);
  }

  // controls

  function fillRadioModels(list) {
    var box = $("#radio-models");
    box.innerHTML = "";
    if (!list.length) {
      box.appendChild(el("span", { class: "hint" }, "(no composing models installed)"));
      return;
    }
    list.forEach(function (m) {
      var label = el("label", { class: "check", title: m.summary || "" });
      var input = el("input", { type: "checkbox", class: "radio-model", value: m.name });
      input.checked = m.name === "chorales";
      label.appendChild(input);
      var voices = m.voices && m.voices.length ? (m.voices.length === 1 ? "melody" : m.voices.length + " voices") : "";
      label.appendChild(document.createTextNode(capital(m.name) + (voices ? " " : "")));
      if (voices) label.appendChild(el("small", { class: "hint" }, "(" + voices + ")"));
      box.appendChild(label);
    });
    if (!$all(".radio-model", box).some(function (c) { return c.checked; })) $(".radio-model", box).checked = true;
  }

  /* 0.1 s of silence, as a WAV data: address */
  function silence() {
    var n = 800, bytes = new Uint8Array(44 + n), v = new DataView(bytes.buffer);
    function str(at, s) { for (var i = 0; i < s.length; i++) bytes[at + i] = s.charCodeAt(i); }
    str(0, "RIFF"); v.setUint32(4, 36 + n, true); str(8, "WAVEfmt "); v.setUint32(16, 16, true);
    v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, 8000, true); v.setUint32(28, 8000, true);
    v.setUint16(32, 1, true); v.setUint16(34, 8, true); str(36, "data"); v.setUint32(40, n, true);
    for (var i = 44; i < bytes.length; i++) bytes[i] = 128;
    var bin = "";
    for (var j = 0; j < bytes.length; j++) bin += String.fromCharCode(bytes[j]);
    return "data:audio/wav;base64," + btoa(bin);
  }

  /* Some browsers (Safari) let an <audio> start on its own later only once it was started by a
     click: start both on a moment of silence while handling Start. */
  function radioUnlock() {
    var quiet = silence();
    radio.players.forEach(function (p) {
      p.src = quiet;
      var r = p.play();
      if (r && r.catch) r.catch(function () { /* a newer source replaced it */ });
    });
  }

  /* Stops the sound and every fetch under way. */
  function radioHalt() {
    if (radio.current && radio.on) { // the roll keeps the picture as it stopped
      radio.stoppedAt = radio.current.audio.currentTime || 0;
      radio.current.ended = radio.current.length();
    }
    radio.session++;
    radio.on = false;
    radio.waiting = false;
    radio.next = null;
    if (radio.frame) cancelAnimationFrame(radio.frame);
    radio.frame = 0;
    radio.players.forEach(function (p) {
      p.pause();
      p.removeAttribute("src");
      p.load();
    });
    if (radio.current) $("#radio-now").classList.add("stopped");
    $("#radio-label-text").textContent = "Stopped at";
    $all("#radio-played .radio-played-item.current").forEach(function (li) { li.classList.remove("current"); });
    $("#radio-next").textContent = "";
    radioButtons();
  }

  async function radioStart(ev) {
    if (ev) ev.preventDefault();
    clearError();
    var chosen = $all("#radio-models .radio-model").filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
    if (!chosen.length) { showError("Tick at least one model for the radio to play."); return; }
    var bars = intOrNull($("#radio-bars"));
    if (bars == null || bars < 1) { showError("Give the length of each piece in bars (1 or more)."); return; }
    var body = { models: chosen, key: $("#radio-key").value || null, seed: intOrNull($("#radio-seed")), bars: bars };
    radioHalt();
    radioUnlock(); // inside the click
    var session = radio.session;
    var button = $("#radio-start");
    button.disabled = true;
    radioStatus("Starting the radio…", true);
    var reply;
    try {
      reply = await api.post("/api/radio", body);
    } catch (e) {
      if (session === radio.session) { radioStatus(""); showError(e); }
      return;
    } finally {
      button.disabled = false;
    }
    if (session !== radio.session) return;
    radio.on = true;
    radio.settings = reply.radio;
    radio.stamp = Date.now().toString(36);
    radio.current = radio.previous = radio.next = null;
    radio.lo = radio.hi = null;
    $("#radio-played").innerHTML = "";
    $("#radio-history").hidden = true;
    radioButtons();
    radioAdvance(); // nothing ready yet: it waits for piece 1
    radioQueue(1, session);
  }

  function radioStop() {
    radioHalt();
    radioStatus("Stopped. Press Start for new music.");
  }

  function setupRadio() {
    radio.players = [$("#radio-audio-a"), $("#radio-audio-b")];
    var volume = $("#radio-volume");
    function setVolume() { radio.players.forEach(function (p) { p.volume = Number(volume.value); }); }
    volume.addEventListener("input", setVolume);
    setVolume();
    radio.players.forEach(function (p) {
      p.addEventListener("ended", function () {
        if (radio.on && radio.current && radio.current.audio === p) radioAdvance();
      });
      p.addEventListener("error", function () {
        if (!radio.on || !p.getAttribute("src") || /^data:/.test(p.getAttribute("src"))) return;
        var session = radio.session;
        if (radio.current && radio.current.audio === p) {
          radioStatus("Piece " + radio.current.piece.n + " could not be played; on to the next.");
          radioAdvance();
        } else if (radio.next && radio.next.audio === p) {
          var failed = radio.next;
          radio.next = null;
          radioQueue(failed.piece.n + 1, session);
        }
      });
    });
    $("#radio-form").addEventListener("submit", radioStart);
    $("#radio-stop").addEventListener("click", radioStop);
    window.addEventListener("resize", function () { if (!radio.on) radioDraw(); });
  }

  // ------------------------------------------------------------------ start

  function start() {
    $(".banner-close").addEventListener("click", clearError);
    $all(".tab").forEach(function (t) { t.addEventListener("click", function () { selectTab(t); }); });
    fillKeys($("#compose-key"), "Composer's choice");
    fillKeys($("#radio-key"), "The radio's choice");
    $("#compose-model").addEventListener("change", showModelSummary);
    $("#compose-arrange").addEventListener("change", showStyleSummary);
    $("#compose-form").addEventListener("submit", compose);
    $("#form-add").addEventListener("click", function () { addSection(); });
    $("#form-clear").addEventListener("click", function () { $("#form-sections").innerHTML = ""; formChanged(); });
    $("#harmonize-form").addEventListener("submit", harmonize);
    setupDropZone();
    setupRadio();
    window.addEventListener("unhandledrejection", function (e) { showError(e.reason); });
    loadModels();
    loadStyles();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();

  // for tests and the curious
  window.cadenzaStudio = { cards: cards, api: api, radio: radio };
})();
