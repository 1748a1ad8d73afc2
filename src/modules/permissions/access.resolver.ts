import { Arg, Ctx, Query, Resolver } from "type-graphql";
import { actorOf, type Context } from "../../graphql/context.js";
import { holdsNow } from "./access.js";

@Resolver()
export class AccessResolver {
  @Query(() => [String], {
    description:
      "The caller's effective permissions, wildcards expanded: their platform roles', and their roles' in the active organization.",
  })
  async myPermissions(@Ctx() ctx: Context) {
    return ctx.services.access.effectivePermissions(await actorOf(ctx));
  }

  @Query(() => Boolean, {
    description:
      "Whether the caller holds `permission`, directly or by a wildcard, through a platform role or a role in the active organization.",
  })
  async can(@Arg("permission", () => String) permission: string, @Ctx() ctx: Context) {
    return holdsNow(await actorOf(ctx), permission);
  }
}
