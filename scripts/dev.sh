#!/usr/bin/env bash
# Start the worker locally with demo data: local D1 migrated, a demo session and list item,
# a local origin serving sample images, then `wrangler dev` (which builds the worker).
source "$(dirname "$0")/toolchain.sh"
cd "$ROOT"
WRANGLER="$ROOT/node_modules/.bin/wrangler"
PORT="${PORT:-8787}"
ORIGIN_PORT="${ORIGIN_PORT:-8788}"
DEMO_TOKEN="demo-token-0123456789abcdef"
DEMO_HASH="$(printf '%s' "$DEMO_TOKEN" | sha256sum | cut -d' ' -f1)"
NOW="$(date -u +%Y-%m-%dT%H:%M:%SZ)"

say "applying D1 migrations to local state"
"$WRANGLER" d1 migrations apply DB --local >/dev/null
say "seeding demo list item 1 and a remember_me session"
"$WRANGLER" d1 execute DB --local --command \
  "INSERT OR IGNORE INTO list_items (id, key, slug, name) VALUES (1, 'demo', 'demo', 'Demo item')" >/dev/null
"$WRANGLER" kv key put --local --binding SESSIONS "session:$DEMO_HASH" \
  "{\"id\":1,\"user_id\":1,\"created_at\":\"$NOW\",\"last_used_at\":\"$NOW\",\"remember_me\":true}" >/dev/null
"$WRANGLER" kv key put --local --binding SESSIONS "user:1" \
  '{"id":1,"email":"demo@example.com","client_id":1,"employee_id":null,"liaison_id":null}' >/dev/null

ORIGIN_PORT="$ORIGIN_PORT" node scripts/sample-origin.mjs &
ORIGIN_PID=$!
trap 'kill $ORIGIN_PID 2>/dev/null' EXIT

cat <<MSG

When wrangler prints "Ready", upload a sample image with:

  curl -s -X PUT http://127.0.0.1:$PORT/api/v1/list_items/upload_image \\
    -H 'Content-Type: application/json' \\
    -d '{"token":"$DEMO_TOKEN","id":1,"image_url":"http://127.0.0.1:$ORIGIN_PORT/large.png"}'

Other samples: sample.png, sample.jpg, sample-progressive.jpg (and sample.gif to see a rejection).

MSG
# FETCH_ALLOW_PRIVATE lets this local run fetch from the loopback origin; never set in deploys.
"$WRANGLER" dev --port "$PORT" --ip 127.0.0.1 --var FETCH_ALLOW_PRIVATE:true "$@"
