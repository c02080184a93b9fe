/**
 * Middleware in the Hono sense: a step of the pipeline that may act on the request before
 * calling `next` and on the response after it. `compose` chains them around a handler.
 */

export type Next = () => Promise<Response>;
export type Middleware<C> = (ctx: C, next: Next) => Promise<Response>;

/** One function that runs `middleware` in order, the last calling `handler`. */
export function compose<C>(
  middleware: readonly Middleware<C>[],
  handler: (ctx: C) => Promise<Response>,
): (ctx: C) => Promise<Response> {
  return (ctx) => {
    const run = (at: number): Promise<Response> =>
      at === middleware.length ? handler(ctx) : middleware[at](ctx, () => run(at + 1));
    return run(0);
  };
}
