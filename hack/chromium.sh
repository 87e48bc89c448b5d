#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium for the HTML report tests,
# installing Debian's chromium package when none is on the machine.
#
#   export BASEGUARD_CHROMIUM="$(hack/chromium.sh)"
#
# stdout carries only the path; apt's progress goes to stderr.
set -euo pipefail
for c in chromium chromium-browser google-chrome; do
  if p="$(command -v "$c")"; then
    printf '%s\n' "$p"
    exit 0
  fi
done
echo "[chromium] not found: apt-get install -y chromium" >&2
{ apt-get update && apt-get install -y --no-install-recommends chromium; } >&2
command -v chromium
