# Sourced by dev.sh and api_fuzz.sh (after toolchain.sh): the demo data, the local sample-image
# origin and the vars of a local run, so both start the worker the same way.
WRANGLER="$ROOT/node_modules/.bin/wrangler"
DEMO_TOKEN="demo-token-0123456789abcdef"
DEMO_ITEM_ID=1
# Local runs only, never in wrangler.toml: FETCH_ALLOW_PRIVATE lets the worker fetch the loopback
# sample origin; DEMO_PAGE serves the browser demo page at GET /.
LOCAL_VARS=(--var FETCH_ALLOW_PRIVATE:true --var DEMO_PAGE:true)

# seed_demo_state [WRANGLER_FLAGS...]: local D1 migrated, list item 1, a remember_me demo session
# and its user. Extra flags (e.g. --persist-to DIR) go to every wrangler command.
seed_demo_state() {
  local hash now
  hash="$(printf '%s' "$DEMO_TOKEN" | sha256sum | cut -d' ' -f1)"
  now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  say "applying D1 migrations to local state"
  "$WRANGLER" d1 migrations apply DB --local "$@" >/dev/null
  say "seeding demo list item $DEMO_ITEM_ID and a remember_me session"
  "$WRANGLER" d1 execute DB --local "$@" --command \
    "INSERT OR IGNORE INTO list_items (id, key, slug, name) VALUES ($DEMO_ITEM_ID, 'demo', 'demo', 'Demo item')" >/dev/null
  "$WRANGLER" kv key put --local "$@" --binding SESSIONS "session:$hash" \
    "{\"id\":1,\"user_id\":1,\"created_at\":\"$now\",\"last_used_at\":\"$now\",\"remember_me\":true}" >/dev/null
  "$WRANGLER" kv key put --local "$@" --binding SESSIONS "user:1" \
    '{"id":1,"email":"demo@example.com","client_id":1,"employee_id":null,"liaison_id":null}' >/dev/null
}

# start_sample_origin PORT: serves tests/fixtures/images/ on loopback in the background; sets ORIGIN_PID.
start_sample_origin() {
  ORIGIN_PORT="$1" node "$ROOT/scripts/sample-origin.mjs" &
  ORIGIN_PID=$!
}
