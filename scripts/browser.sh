# Sourced by test.sh: Debian's Chromium for the browser test (tests/integration/demo_page.test.mjs).
# A fast no-op when present. No browser download: playwright-core drives /usr/bin/chromium.
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO="sudo"
  say "apt-get install chromium (once, for the demo page's browser test)"
  # If this fails the browser test fails too (it never skips).
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium \
    || say "could not install chromium: the demo page's browser test will fail"
fi
export CHROMIUM
