/** Reference agent `ta` (spec 6.4). Point `wisely.agents.path` elsewhere to use a real one. */
import { createReferenceAgent } from "../_shared/agents/reference/server.ts";
import { loadConfig } from "../_shared/config.ts";

const config = await loadConfig();
const app = createReferenceAgent("ta", { config });
// The one server registration (Supabase's edge runtime serves what Deno.serve registers).
Deno.serve(app.fetch);
