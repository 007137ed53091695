#!/usr/bin/env bash
# npm run test:browser: the tests in test/browser in headless Chromium (vitest.browser.config.ts).
#
# Chromium is Debian's package (/usr/bin/chromium, or $SAM_AMG_CHROMIUM). When it is missing it is installed with
# apt-get if we run as root; otherwise the tests are skipped with a SKIPPED line and exit 0 — except in CI
# (CI=true) or with SAM_AMG_REQUIRE_BROWSER=1, where a missing browser fails.
set -euo pipefail
cd "$(dirname "$0")/.."
CHROMIUM="${SAM_AMG_CHROMIUM:-/usr/bin/chromium}"
required() { [ "${CI:-}" = "true" ] || [ "${SAM_AMG_REQUIRE_BROWSER:-}" = "1" ]; }

if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "test:browser: $CHROMIUM missing; installing Debian's chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }
  elif required; then
    echo "test:browser: FAILED: no Chromium at $CHROMIUM, and not root to install it (apt-get install chromium)" >&2
    exit 1
  else
    echo "test:browser: SKIPPED: no Chromium at $CHROMIUM (install Debian's chromium, or run as root to have it installed)"
    exit 0
  fi
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "test:browser: FAILED: still no Chromium at $CHROMIUM after installing" >&2
  exit 1
fi
BROWSER="$("$CHROMIUM" --version 2>/dev/null | sed -E 's/^(Chromium [0-9]+).*/\1/' || true)"
BROWSER="${BROWSER:-$CHROMIUM}"
echo "test:browser: $BROWSER"
# The AMG suite writes its figures here; the last line of this script says what ran and what it found.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export SAM_AMG_BROWSER_SUMMARY="$work/summary"
set +e
npx vitest run --config vitest.browser.config.ts "$@" 2>&1 | tee "$work/log"
rc=${PIPESTATUS[0]}
set -e
tests="$(sed -E 's/\x1b\[[0-9;]*m//g' "$work/log" | grep -E '^ +Tests ' | tail -1 | sed -E 's/^ +Tests +//')"
amg="$(cat "$SAM_AMG_BROWSER_SUMMARY" 2>/dev/null | tr '\n' ' ' | sed -E 's/ +$//')"
if [ "$rc" = "0" ]; then
  echo "test:browser: $BROWSER${amg:+ $amg}; ${tests:-no tests}"
else
  echo "test:browser: FAILED ($BROWSER; ${tests:-vitest exit $rc})"
fi
exit "$rc"
