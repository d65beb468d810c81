#!/bin/sh
# The image's entry point: one image, several roles.
#   web       gunicorn with deploy/gunicorn.conf.py (the webhook, dashboard, /metrics)
#   worker    flask --app app worker (queues, retry scheduler, sweeper)
#   migrate   flask --app app db upgrade, then doctor's checks
#   anything else is a flask command: doctor, backup --to DIR, restore --from DIR, create-staff ...
set -eu
here=$(dirname "$0")
case "${1:-web}" in
  web)
    shift || true
    exec gunicorn --config "$here/gunicorn.conf.py" "$@" app:app
    ;;
  worker)
    shift
    exec flask --app app worker "$@"
    ;;
  migrate)
    flask --app app db upgrade
    # Report what is not ready yet (the LINE webhook URL, say) without stopping the start.
    flask --app app doctor || echo "doctor found problems (above); the app starts anyway" >&2
    ;;
  *)
    exec flask --app app "$@"
    ;;
esac
