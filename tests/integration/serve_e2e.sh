#!/usr/bin/env bash
# The web page end to end in Debian's headless Chromium (tests/e2e/page.test.mjs,
# playwright-core): uploads, live steps in words and progress, names, deep
# links and history, the original beside its dossier (video seeking from the
# transcript, picture, PDF page, thumbnails, downloads), filters, sort and
# paging, delete, keyboard, dark mode, 1280 px and 380 px. Screenshots go to
# $BUILD_DIR/e2e-*.png. Installs tests/e2e's npm packages when missing.
# Skips (exit 77: CTest reports it as skipped, not passed) only when chromium is
# not installed; scripts/setup installs it, so CI runs this.
. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/serve_lib.bash"
# PDF thumbnails draw text through fontconfig, which leaks a little at exit
export LSAN_OPTIONS="${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$SOURCE_DIR/tests/integration/lsan-fontconfig.supp"
E2E="$SOURCE_DIR/tests/e2e"
if [ ! -x /usr/bin/chromium ]; then
  skip_all "/usr/bin/chromium is not installed (run scripts/setup): the web page was NOT tested."
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  bad "node and npm are installed (scripts/setup installs them)"
  done_testing; exit 1
fi
if [ ! -d "$E2E/node_modules/playwright-core" ]; then
  (cd "$E2E" && { npm ci --no-audit --no-fund || npm install --no-audit --no-fund; }) >"$T/npm.log" 2>&1
  check "npm installs tests/e2e's packages" test -d "$E2E/node_modules/playwright-core" || { cat "$T/npm.log"; done_testing; exit 1; }
fi

start_server page --offline || { bad "server starts"; done_testing; exit 1; }
cat > "$T/nightjars.txt" <<'EOF'
Nightjars on the heath

Nightjars churred over Ober Heath at midnight while the warden logged seven
males. Nightjars return from Africa in May and nest on bare ground among the
heather, so the survey asked walkers to keep dogs on the paths until August.
EOF
# an audio file for the audio player: the video's sound track, when ffmpeg is here
AUDIO=""
if command -v ffmpeg >/dev/null && ffmpeg -loglevel error -i "$SOURCE_DIR/samples/harbour-tour.mp4" -vn -ac 1 -ar 16000 \
    "$T/harbour-voice.wav" 2>/dev/null; then
  AUDIO="$T/harbour-voice.wav"
else
  echo "# ffmpeg is not installed: the audio player is not tested (the video player is)"
fi
out=$(DOSSIER_URL="$URL" FIXTURE="$T/nightjars.txt" SAMPLES="$SOURCE_DIR/samples" AUDIO="$AUDIO" ARTIFACT_DIR="$BUILD_DIR" \
  timeout 400 node "$E2E/page.test.mjs" 2>&1)
rc=$?
echo "$out"
check_eq "the page test passes in headless Chromium" 0 "$rc"
for shot in page dossier video pdf progress dark narrow narrow-dossier narrow-search; do
  check "a screenshot was saved ($BUILD_DIR/e2e-$shot.png)" test -s "$BUILD_DIR/e2e-$shot.png"
done
stop_server "$PID"
check_eq "server stops cleanly" 0 "$STOP_RC"
done_testing
