/**
 * The benchmark's `chain` server (test/support/server_process.ts): day.run's hops with none of
 * its work, reported beside day.run by bench/run.ts. It must really call the four agents of an
 * `agents` process once each per request, and a request whose agents did not all answer must
 * not count as a success (a 201 also means both its transactions committed).
 */
import assert from "node:assert/strict";
import { AGENT_NAMES } from "../../supabase/functions/_shared/agents/protocol.ts";
import { freshDatabase } from "../support/db.ts";
import { clearFaults, faultState, setFaults } from "../support/faults.ts";
import { startServerProcess } from "../support/server_process.ts";
import { localServiceToken } from "../support/users.ts";

Deno.test({
  name: "bench chain: the four agents once each per request, not a 201 when one fails",
  // The chain holds connections of its own beside the test's: a real Postgres only.
  ignore: !Deno.env.get("TEST_DATABASE_URL"),
  async fn() {
    const db = await freshDatabase({ max: 1 });
    const agents = await startServerProcess({ kind: "agents" });
    const faults = {
      functionsUrl: agents.functionsUrl,
      serviceToken: localServiceToken,
      sql: db.sql,
    };
    try {
      const chain = await startServerProcess({
        kind: "chain",
        databaseUrl: db.url,
        agentsUrl: agents.url,
      });
      try {
        await clearFaults(faults);
        const ok = await fetch(`${chain.url}/day.run`, { method: "POST", body: "{}" });
        const answers = await ok.json();
        assert.equal(ok.status, 201);
        assert.equal(answers.length, AGENT_NAMES.length);
        for (const agent of AGENT_NAMES) {
          assert.equal((await faultState(faults, agent)).calls, 1, agent);
        }

        await setFaults(faults, "ta", [{ fault: { status: 503 }, count: "always" }]);
        const failed = await fetch(`${chain.url}/day.run`, { method: "POST", body: "{}" });
        await failed.body?.cancel();
        assert.equal(failed.status, 502);
      } finally {
        await chain.stop();
      }
    } finally {
      await agents.stop();
      await db.close();
    }
  },
});
