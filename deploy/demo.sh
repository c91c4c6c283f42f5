#!/bin/sh
# Cascade on a short clock, for watching it work: a fresh data dir, the
# example registry, a 3-minute deadline with reminders at 2 and 1 minute
# left and redelivery every 45 s, and the example breach published once the
# daemon is up. Run by `make demo`; Ctrl-C stops it, and the next run starts
# from scratch. BIN (default bin) holds cascaded and cascadectl; DEMO_DIR
# (default ./cascade-demo) is removed and recreated.
set -eu
BIN=${BIN:-bin}
DIR=${DEMO_DIR:-./cascade-demo}
# The demo uses the default addresses and its own settings only.
unset CASCADE_NATS_URL CASCADE_NATS_LISTEN CASCADE_GRPC_ADDR CASCADE_HTTP_ADDR CASCADE_ORGS CASCADE_DATA_DIR \
  CASCADE_SECRET_FILE CASCADE_NATS_AUTH CASCADE_BOOTSTRAP_TOKEN_FILE CASCADE_SMTP_ADDR CASCADE_TOKEN CASCADE_NATS_NKEY
rm -rf "$DIR"
export CASCADE_TOKEN_FILE="$DIR/vendor.token" CASCADE_NATS_NKEY="$DIR/nats-auth/vendor.nk"
daemon=$$ # exec below makes this shell cascaded

(
  # Wait until the daemon answers (it writes the vendor token on its first start).
  i=0
  until [ -s "$DIR/vendor.token" ] && "$BIN/cascadectl" whoami >/dev/null 2>&1; do
    kill -0 "$daemon" 2>/dev/null || exit 0 # it did not start; its log says why
    i=$((i + 1))
    if [ "$i" -gt 120 ]; then echo "demo: cascaded did not answer within a minute" >&2; exit 1; fi
    sleep 0.5
  done
  "$BIN/cascadectl" breach publish deploy/examples/breach.json >/dev/null 2>&1 || true # one id is unknown, on purpose
  cat <<MSG

================================================================================
 Cascade demo: breach EXAMPLE-2025-08-23 published to 12 organisations.
 Dashboard:    http://127.0.0.1:7401/  (sign in with the vendor token:
               cat $DIR/vendor.token)
 Terminal:     CASCADE_TOKEN_FILE=$DIR/vendor.token $BIN/cascadectl breach status EXAMPLE-2025-08-23 --watch
 Clock:        deadline 3 min after delivery; reminders at 2 and 1 min left;
               redelivery every 45 s until acknowledged; then the rows turn red.
 Ctrl-C stops the demo; make demo starts it again from scratch.
================================================================================

MSG
) &

exec "$BIN/cascaded" --data-dir "$DIR" --orgs deploy/examples/orgs.csv \
  --deadline 3m --remind 2m,1m --redeliver 45s
