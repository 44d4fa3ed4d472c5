#!/usr/bin/env bash
# Fuzzes /api/v1 from its own OpenAPI document with Schemathesis: starts the built
# cachet-server on a fresh SQLite file and a free port, signs in with the admin token it
# prints, and runs every phase (examples, coverage, fuzzing, stateful links) with a bounded
# number of examples per operation. Every check runs: a 5xx, a body that does not match its
# schema, a status, content type or header the document does not name, an operation that
# ignores its token, a method the document does not name that is not a 405 with `Allow`, a
# created resource that cannot be read (or a deleted one that still can) fails the run, and
# so does a panic in the server's log. Two checks are left out because the API is not
# meant to pass them: `negative_data_rejection` (Cachet's input is lenient on purpose: an
# unknown `sort` is ignored, a bad `page` reads as 1, `null` means absent, numbers may be
# strings) and `positive_data_acceptance` (a schema cannot know which component ids exist,
# nor say that a window ends after it starts).
#
# The API's rate limits are off for the run (the fuzzer's thousands of requests a minute
# would otherwise be answered 429, which the document allows, and test nothing); the limits
# have tests of their own.
#
# Environment: CARGO_TARGET_DIR (where cachet-server is built), CACHET_SCHEMATHESIS_VENV
# (the virtualenv, made when missing), CACHET_SCHEMATHESIS_EXAMPLES (examples per operation
# and phase, default 25), CACHET_SCHEMATHESIS_SEED (default 1, so a run can be repeated;
# set another to explore), CACHET_SCHEMATHESIS_REPORT (a directory to keep the JUnit and
# NDJSON reports in).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SCHEMATHESIS_VERSION=4.32.5
VENV=${CACHET_SCHEMATHESIS_VENV:-/tmp/cachet-schemathesis-venv}
EXAMPLES=${CACHET_SCHEMATHESIS_EXAMPLES:-25}
SEED=${CACHET_SCHEMATHESIS_SEED:-1}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}

if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -qx "schemathesis, version $SCHEMATHESIS_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
cargo build --quiet -p cachet-examples --bin cachet-server

WORK=$(mktemp -d)
REPORT=${CACHET_SCHEMATHESIS_REPORT:-$WORK/report}
SERVER=
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$TARGET_DIR/debug/cachet-server" --database-url "sqlite://$WORK/cachet.db" --data-key-file "$WORK/cachet.key" \
  serve --listen "127.0.0.1:$port" --api-client-rate 0 --api-token-rate 0 \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER=$!
for _ in $(seq 1 100); do
  grep -q "Listening on" "$WORK/server.out" 2>/dev/null && break
  sleep 0.1
done
if ! grep -q "Listening on" "$WORK/server.out"; then
  echo "cachet-server did not start listening"; cat "$WORK/server.out" "$WORK/server.err"; exit 1
fi
token=$(sed -n 's/^  API token: //p' "$WORK/server.out")
if [ -z "$token" ]; then
  echo "cachet-server did not print an API token"; cat "$WORK/server.out" "$WORK/server.err"; exit 1
fi

status=0
"$VENV/bin/schemathesis" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --header "X-Cachet-Token: $token" \
  --checks all --exclude-checks positive_data_acceptance,negative_data_rejection \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --request-timeout 30 \
  --report junit,ndjson --report-dir "$REPORT" \
  --report-junit-path "$REPORT/junit.xml" --report-ndjson-path "$REPORT/events.ndjson" \
  --no-color | tee "$WORK/schemathesis.log" || status=$?

kill -TERM "$SERVER"
wait "$SERVER" || status=1
SERVER=
if grep -n "panicked" "$WORK/server.err"; then
  echo "cachet-server panicked during the run"; status=1
fi
# The numbers of the run (test cases generated, passed, failed), for the CI log.
printf 'schemathesis: %s\n' "$(grep -A1 '^Test cases:' "$WORK/schemathesis.log" | tail -n 1 | sed 's/^ *//')"
exit "$status"
