#!/usr/bin/env bash
# The programs the tests run as real clients of ours, installed from Debian's packages when missing (make test runs
# this): Prometheus, which scrapes a DCGM exporter's exposition and remote-writes it into telemetry
# (tests/telemetry/integration/test_prometheus_client.py); Chromium, which the browser tests of the dashboard drive
# through Playwright (tests/dashboard/browser). Nothing here is started as a service.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SETUP_LOG="$ROOT/.local/logs/setup.log"
mkdir -p "$(dirname "$SETUP_LOG")"

note() { echo "tools: $*" >&2; }
die() { echo "tools: $*" >&2; exit 1; }

missing=()
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
# a Korean font, so that the page's screenshots read as the operators see it
[[ -d /usr/share/fonts/truetype/nanum ]] || missing+=(fonts-nanum)
((${#missing[@]})) || exit 0

[[ "$(id -u)" == 0 ]] || die "${missing[*]} not installed and we are not root: run 'sudo apt-get install -y ${missing[*]}'"
command -v apt-get >/dev/null 2>&1 || die "${missing[*]} not installed and apt-get is not available"
note "installing ${missing[*]} with apt-get (log: $SETUP_LOG)"
{
    apt-get update &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
} >>"$SETUP_LOG" 2>&1 || {
    tail -n 20 "$SETUP_LOG" >&2
    die "apt-get install ${missing[*]} failed (see $SETUP_LOG)"
}
# the package enables a system service; the tests start their own Prometheus and want no other
if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
fi
