#!/usr/bin/env bash
# Installs Debian's chromium for the browser tests when it is missing and we may (root + apt-get).
# Playwright drives /usr/bin/chromium; it never downloads a browser of its own.
set -u
[ -x /usr/bin/chromium ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian chromium for the browser tests..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "could not install chromium: browser tests will be skipped" >&2
else
  echo "chromium is not installed (apt-get install chromium): browser tests will be skipped" >&2
fi
exit 0
