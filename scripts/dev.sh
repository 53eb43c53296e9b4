#!/usr/bin/env bash
# Start the worker locally with demo data: local D1 migrated, a demo session and list item,
# a local origin serving sample images, then `wrangler dev` (which builds the worker).
source "$(dirname "$0")/toolchain.sh"
source "$(dirname "$0")/demo_env.sh"
cd "$ROOT"
PORT="${PORT:-8787}"
ORIGIN_PORT="${ORIGIN_PORT:-8788}"

seed_demo_state
start_sample_origin "$ORIGIN_PORT"
trap 'kill $ORIGIN_PID 2>/dev/null' EXIT

SAMPLE="http://127.0.0.1:$ORIGIN_PORT/sample.png"
cat <<MSG

When wrangler prints "Ready", open the demo page (fields prefilled from the fragment):

  http://127.0.0.1:$PORT/#token=$DEMO_TOKEN&id=$DEMO_ITEM_ID&image_url=$SAMPLE

or upload a sample image with:

  curl -s -X PUT http://127.0.0.1:$PORT/api/v1/list_items/upload_image \\
    -H 'Content-Type: application/json' \\
    -d '{"token":"$DEMO_TOKEN","id":$DEMO_ITEM_ID,"image_url":"http://127.0.0.1:$ORIGIN_PORT/large.png"}'

or send the image itself (a direct upload):

  curl -s -X PUT "http://127.0.0.1:$PORT/api/v1/list_items/upload_image?id=$DEMO_ITEM_ID" \\
    -H "Authorization: Bearer $DEMO_TOKEN" -H 'Content-Type: image/jpeg' -T tests/fixtures/images/sample.jpg

Other samples: sample.png, sample.jpg, sample-progressive.jpg (and sample.gif to see a rejection).

MSG
"$WRANGLER" dev --port "$PORT" --ip 127.0.0.1 "${LOCAL_VARS[@]}" "$@"
