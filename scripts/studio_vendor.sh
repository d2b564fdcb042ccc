#!/usr/bin/env bash
# Installs Cadenza Studio's browser libraries (OpenSheetMusicDisplay, Swagger UI) from npm into
# src/cadenza/studio/static/node_modules, at the versions pinned in package-lock.json.
# Called by `make setup`; safe to run again (does nothing when the installed tree matches the lock).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
static="$here/src/cadenza/studio/static"

if ! command -v npm >/dev/null 2>&1; then
    echo "studio_vendor.sh: npm is not installed; install Node.js and npm (Debian: apt-get install nodejs npm)" >&2
    exit 1
fi

stamp="$static/node_modules/.studio-vendor-stamp"
lock="$static/package-lock.json"
want="$(cat "$static/package.json" "$lock" 2>/dev/null | cksum)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && [ -f "$static/node_modules/opensheetmusicdisplay/build/opensheetmusicdisplay.min.js" ] \
    && [ -f "$static/node_modules/swagger-ui-dist/swagger-ui-bundle.js" ]; then
    exit 0
fi

# --ignore-scripts: no install scripts (swagger-ui-dist's telemetry, the optional native `gl` of OSMD);
# --omit=optional: OSMD's headless-gl is for server-side image export only, the browser does not need it.
flags=(--prefix "$static" --no-audit --no-fund --ignore-scripts --omit=optional --loglevel=error)
if [ -f "$lock" ]; then
    npm ci "${flags[@]}" >/dev/null
else
    npm install "${flags[@]}" >/dev/null
fi

for f in opensheetmusicdisplay/build/opensheetmusicdisplay.min.js swagger-ui-dist/swagger-ui-bundle.js swagger-ui-dist/swagger-ui.css; do
    if [ ! -f "$static/node_modules/$f" ]; then
        echo "studio_vendor.sh: npm finished but node_modules/$f is missing" >&2
        exit 1
    fi
done
echo "$want" >"$stamp"
