import { GraphQLError } from "graphql";
import { rule } from "graphql-shield";
import { type Context } from "./context.js";
import { ErrorCode, RateLimitedError } from "../kernel/errors.js";

type Check = (parent: any, args: Record<string, unknown>, ctx: Context) => Promise<true | Error>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a rule sees whatever its field's parent is

/**
 * A graphql-shield rule whose failures are not swallowed: graphql-shield turns a throwing rule into its
 * fallback error and tells nobody. Here the field is still denied, but the error is logged with the
 * request id and the client is told it was a server error, not a refusal.
 */
export function guardedRule(name: string, cache: "no_cache" | "contextual" | "strict", check: Check) {
  return rule(name, { cache })(async (parent, args, ctx: Context) => {
    try {
      return await check(parent, args, ctx);
    } catch (error) {
      // Loading the caller may refuse deliberately: an API key past its rate limit.
      if (error instanceof RateLimitedError) return error;
      ctx.log.error("permission rule failed", { rule: name, error });
      return new GraphQLError("Unexpected error", { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } });
    }
  });
}
