/** `GET openapi.json` (no auth): the API's OpenAPI 3.1 document, built once per isolate. */
import type { Route } from "../../_shared/http/app.ts";
import { JSON_CONTENT_TYPE } from "../../_shared/http/respond.ts";
import { openApiDocument } from "../../_shared/openapi.ts";

/** Relative to the host the document is fetched from, hosted or local. */
const SERVER_URL = "/functions/v1/orchestrator";

export function openApiRoute(): Route {
  let body: string | null = null;
  return {
    method: "GET",
    path: "openapi.json",
    auth: "none",
    handle() {
      body ??= JSON.stringify(openApiDocument(SERVER_URL));
      return Promise.resolve(
        new Response(body, { headers: { "Content-Type": JSON_CONTENT_TYPE } }),
      );
    },
  };
}
