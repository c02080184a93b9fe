// @ts-check
/**
 * The Wisely Orchestrator SDK: plain ES modules with JSDoc types (no build step) for browsers,
 * Deno and Node. Types come from the functions' zod schemas (`types.ts`). See README.md.
 * @module
 */
export { LearningOrchestrator } from "./orchestrator.mjs";
export { OrchestratorError, parseRetryAfter } from "./errors.mjs";
export { LEARNER_EVENT_TYPES, subscribeToLearnerEvents, toLearnerEvent } from "./events.mjs";
export { readServerSentEvents } from "./sse.mjs";
