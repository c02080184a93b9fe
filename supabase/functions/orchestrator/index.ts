/**
 * Deployed entry point: `supabase functions deploy orchestrator`. Configuration is read and
 * validated once per isolate; the pool is created at module scope and reused across requests.
 */
import { loadConfig } from "../_shared/config.ts";
import { createPool } from "../_shared/pool.ts";
import { createOrchestrator } from "./app.ts";

const config = await loadConfig();
if (!config.dbUrl) throw new Error("SUPABASE_DB_URL is required for a deployed function.");
const app = createOrchestrator({ config, sql: createPool(config.dbUrl, { max: 3 }) });

// The one server registration: Supabase's edge runtime serves what Deno.serve registers; a
// default export as well would be a second one (`deno serve`).
Deno.serve(app.fetch);
