#!/usr/bin/env bash
# npm run api-fuzz [-- MAX_EXAMPLES]: schemathesis (from PyPI, pinned, in .venv-api-fuzz/) against
# `wrangler dev` started as `npm run dev` starts it (demo data, sample origin, the same local vars)
# but on other ports and a throwaway local state, checking every response against openapi.yaml.
# Then the worker's own log lines are tallied: no crash, no token.
source "$(dirname "$0")/toolchain.sh"
source "$(dirname "$0")/demo_env.sh"
cd "$ROOT"
SCHEMATHESIS_VERSION=4.32.5
PORT="${API_FUZZ_PORT:-8797}"
ORIGIN_PORT="${API_FUZZ_ORIGIN_PORT:-8798}"
MAX_EXAMPLES="${1:-100}"
VENV="$ROOT/.venv-api-fuzz"
OUT="$ROOT/target/api-fuzz"   # the last run's report and wrangler log
BASE="http://127.0.0.1:$PORT"
SAMPLES="http://127.0.0.1:$ORIGIN_PORT"

if [ "$("$VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $NF}')" != "$SCHEMATHESIS_VERSION" ]; then
  say "pip install schemathesis==$SCHEMATHESIS_VERSION into .venv-api-fuzz/ (once)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
rm -rf "$OUT" && mkdir -p "$OUT"

STATE="$(mktemp -d)"
PIDS=()
cleanup() {
  # Each started process by its id; wrangler runs in its own process group (with its workerd).
  for pid in "${PIDS[@]}"; do kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true; done
  rm -rf "$STATE"
}
trap cleanup EXIT

seed_demo_state --persist-to "$STATE"
# Item 2 holds the image the smoke test stores; the fuzzing uploads to item 1 never replace it.
"$WRANGLER" d1 execute DB --local --persist-to "$STATE" --command \
  "INSERT INTO list_items (id, key, slug, name) VALUES (2, 'fuzz', 'fuzz', 'Stable image for api-fuzz')" >/dev/null
start_sample_origin "$ORIGIN_PORT" >/dev/null
PIDS+=("$ORIGIN_PID")
say "wrangler dev on $BASE (builds the worker first; log in $OUT/wrangler.log)"
setsid "$WRANGLER" dev --port "$PORT" --ip 127.0.0.1 --persist-to "$STATE" "${LOCAL_VARS[@]}" >"$OUT/wrangler.log" 2>&1 &
WRANGLER_PID=$!
PIDS+=("$WRANGLER_PID")
for _ in $(seq 900); do
  curl -s -o /dev/null "$BASE/" && break
  kill -0 "$WRANGLER_PID" 2>/dev/null || { tail -n 40 "$OUT/wrangler.log"; say "wrangler dev exited"; exit 1; }
  sleep 1
done

# The demo data works end to end before fuzzing: an upload to item 2, then its image served; its
# key and ETag seed the image operations.
say "smoke test: upload a sample image, then fetch it"
SMOKE="$(curl -s -X PUT "$BASE/api/v1/list_items/upload_image" -H 'Content-Type: application/json' \
  -d "{\"token\":\"$DEMO_TOKEN\",\"id\":2,\"image_url\":\"$SAMPLES/sample.jpg\"}")"
IMAGE_KEY="$(printf '%s' "$SMOKE" | python3 -c 'import json,sys; e=json.load(sys.stdin); assert e["status"]=="action-successful", e; print(e["data"]["image"]["key"])')" \
  || { say "smoke upload failed: $SMOKE"; exit 1; }
ETAG="$(curl -s -f -D - -o /dev/null "$BASE/images/$IMAGE_KEY" | tr -d '\r' | awk 'tolower($1)=="etag:" {print $2}')"
[ -n "$ETAG" ] || { say "stored image not served: $BASE/images/$IMAGE_KEY"; exit 1; }

# Dictionaries steer part of the generated values (at the given probability) onto the demo data,
# so the fuzzing gets past authentication to the params, the fetch and the store: the demo token,
# item 1, sample images that are stored or rejected (GIF, WebP, HTML, a 404, the worker itself),
# and the stored image's key and ETag (for 200 and 304).
cat >"$OUT/schemathesis.toml" <<TOML
[checks.not_a_server_error]
# Any 2xx-4xx (the check's default) and the 5xx codes openapi.yaml documents (500: application-crash,
# route-non-existent, identify-request-error; 503: service-not-found). Which operation may send
# which is status_code_conformance's job, their bodies response_schema_conformance's, and the
# worker-log tally below fails the run on any application-crash or identify-request-error.
expected-statuses = ["2xx", "3xx", "4xx", "500", "503"]

[dictionaries.tokens]
values = ["$DEMO_TOKEN"]
[dictionaries.item_ids]
values = [$DEMO_ITEM_ID, "$DEMO_ITEM_ID"]
[dictionaries.image_urls]
values = ["$SAMPLES/sample.png", "$SAMPLES/sample.jpg", "$SAMPLES/sample-progressive.jpg", "$SAMPLES/large.png",
          "$SAMPLES/sample.gif", "$SAMPLES/sample.webp", "$SAMPLES/sample.html", "$SAMPLES/missing.png", "$BASE/"]
[dictionaries.image_keys]
values = ["$IMAGE_KEY"]
[dictionaries.etags]
values = ['$ETAG', 'W/$ETAG', '*', '"other"']

[parameters]
"body.token" = { dictionary = "tokens", probability = 0.6 }
"query.token" = { dictionary = "tokens", probability = 0.3 }
"body.id" = { dictionary = "item_ids", probability = 0.6 }
"query.id" = { dictionary = "item_ids", probability = 0.3 }
"body.image_url" = { dictionary = "image_urls", probability = 0.6 }
"query.image_url" = { dictionary = "image_urls", probability = 0.3 }
"path.key" = { dictionary = "image_keys", probability = 0.5 }
"header.If-None-Match" = { dictionary = "etags", probability = 0.5 }
TOML

say "schemathesis $SCHEMATHESIS_VERSION: up to $MAX_EXAMPLES examples per operation"
STATUS=0
"$VENV/bin/schemathesis" --config-file "$OUT/schemathesis.toml" run openapi.yaml \
  --url "$BASE" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --header "Authorization: Bearer $DEMO_TOKEN" \
  --workers 1 --request-timeout 30 --no-color \
  --report junit --report-dir "$OUT" || STATUS=$?

# The worker's own request log (one JSON line per request): what it answered, no crash, no token.
python3 - "$OUT/wrangler.log" "$DEMO_TOKEN" <<'PY' || STATUS=1
import collections, json, sys
path, token = sys.argv[1], sys.argv[2]
statuses, bad = collections.Counter(), []
for line in open(path, encoding="utf-8", errors="replace"):
    start = line.find('{"request_id"')
    if start < 0:
        continue
    text = line[start:].strip()
    entry = json.loads(text)
    reason = entry.get("reason") if entry["status"] == "invalid-url" else None
    statuses[f"{entry['status']} ({reason})" if reason else entry["status"]] += 1
    if token in text:
        bad.append("a log line holds the token")
    if entry["status"] in ("application-crash", "identify-request-error"):
        bad.append(f"{entry['status']}: {entry.get('reason')}")
print(f"worker log: {sum(statuses.values())} requests: " + ", ".join(f"{s} {n}" for s, n in statuses.most_common()))
for problem in sorted(set(bad)):
    print(f"worker log problem: {problem}")
sys.exit(1 if bad or not statuses else 0)
PY
exit "$STATUS"
