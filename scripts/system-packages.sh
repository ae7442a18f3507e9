#!/usr/bin/env bash
# Installs (as root, with apt-get) or explains the system packages the test suite needs:
#   chromium      - the docs pages are opened in a real headless browser
#   redis-server  - conversation history of project 02, job queue of project 04
#   prometheus    - alert rules unit-tested with promtool and evaluated by a real Prometheus
#   prometheus-alertmanager - amtool validates the Alertmanager routing
#   postgresql    - the harness's PostgreSQL (agent memory and checkpoints, audit records)
#   apertium, apertium-eng-spa - project 07's rule-based translation engine and its language data
#   tesseract-ocr, tesseract-ocr-eng - project 08's OCR baseline
#   mosquitto     - project 10's MQTT broker (devices publish images to it)
#   nodejs, npm   - project 11's local OpenID provider (the oidc-provider package; Node.js 20+)
#   openjdk-17-jre-headless - TorchServe's front end, in project 01's serving comparison
#   uv        - the Python project manager (installed with pip if missing)
set -euo pipefail

if ! command -v uv >/dev/null 2>&1; then
  echo "uv not found: installing it with pip"
  python3 -m pip install --quiet uv
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v apertium >/dev/null 2>&1 || missing+=(apertium)
[ -e /usr/share/apertium/modes/eng-spa.mode ] || missing+=(apertium-eng-spa)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 || missing+=(tesseract-ocr-eng)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages: ${missing[*]}"
    echo "  Debian/Ubuntu: sudo apt-get install ${missing[*]}"
    echo "  (without chromium the browser test of the docs is skipped)"
  fi
fi
