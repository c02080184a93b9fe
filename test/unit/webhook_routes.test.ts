/**
 * The webhook routes outside the local stack (a deployed function's configuration): a URL to
 * a private, loopback or link-local address, or not https, is refused with
 * `WEBHOOK_URL_REFUSED` before anything is stored. The pool is never connected: the refusal
 * comes first (its address is a closed port, so any query would fail the test with a 503).
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../supabase/functions/_shared/config.ts";
import { createPool } from "../../supabase/functions/_shared/pool.ts";
import { silentLogger } from "../../supabase/functions/_shared/log.ts";
import { createOrchestrator } from "../../supabase/functions/orchestrator/app.ts";

const SECRET = "sb_secret_webhook_route_test_key_0123456789";

Deno.test("outside the local stack, POST webhooks refuses what webhooks may not reach", async () => {
  const dbUrl = "postgres://postgres:pw@127.0.0.1:9/postgres";
  const config = await loadConfig(
    new Map([
      ["SUPABASE_DB_URL", dbUrl],
      ["SUPABASE_URL", "https://project.supabase.co"],
      ["SUPABASE_SECRET_KEY", SECRET],
    ]),
  );
  assert.equal(config.local, false);
  const sql = createPool(dbUrl, { max: 1, connectTimeoutS: 1 });
  const app = createOrchestrator({ config, sql, log: silentLogger });
  try {
    const urls = [
      "http://hooks.example.com/in",
      "https://127.0.0.1/in",
      "https://localhost/in",
      "https://10.1.2.3/in",
      "https://192.168.0.10/in",
      "https://169.254.169.254/latest/meta-data",
      "https://100.64.0.1/in",
      "https://[::1]/in",
      "https://[fe80::1]/in",
      "https://[fd00::1]/in",
      "https://[::ffff:127.0.0.1]/in",
    ];
    for (const url of urls) {
      const response = await app.fetch(
        new Request("https://project.supabase.co/functions/v1/orchestrator/webhooks", {
          method: "POST",
          headers: { apikey: SECRET, "content-type": "application/json" },
          body: JSON.stringify({ url, events: ["*"] }),
        }),
      );
      const body = await response.json();
      assert.equal(response.status, 400, `${url}: ${JSON.stringify(body)}`);
      assert.equal(body.code, "WEBHOOK_URL_REFUSED", url);
      assert.deepEqual(body.details.map((d: { path: string[] }) => d.path), [["url"]]);
    }
  } finally {
    await sql.end({ timeout: 1 });
  }
});
