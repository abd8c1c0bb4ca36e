#!/usr/bin/env bash
# The demo simulator container: VBot's stand-in, posting call results to the receiver service (any
# replica, by Docker's DNS) with the webhook token as a header read from the environment.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
config="$(mktemp --suffix=.yaml)"
python "$here/../sim_config.py" "$config"
exec vbotflow simulator --host 0.0.0.0 --port 8090 --config "$config" \
    --webhook-url "${SIMULATOR_WEBHOOK_URL:-http://receiver:8081/webhooks/vbot}" "$@"
