/**
 * Deployed entry point: `supabase functions deploy orchestrator`. Configuration is read and
 * validated once per isolate; the pool is created at module scope and reused across requests.
 */
import { loadConfig } from "../_shared/config.ts";
import { createPool } from "../_shared/db.ts";
import { createOrchestrator } from "./app.ts";

const config = await loadConfig();
if (!config.dbUrl) throw new Error("SUPABASE_DB_URL is required for a deployed function.");
const app = createOrchestrator({ config, sql: createPool(config.dbUrl, { max: 3 }) });

Deno.serve(app.fetch);

export default app;
