import { Arg, Ctx, Query, Resolver } from "type-graphql";
import { actorOf, type Context } from "../../graphql/context.js";
import { can } from "./access.js";

@Resolver()
export class AccessResolver {
  @Query(() => [String], { description: "The caller's effective permissions, wildcards expanded." })
  async myPermissions(@Ctx() ctx: Context) {
    return ctx.services.access.effectivePermissions(await actorOf(ctx));
  }

  @Query(() => Boolean, { description: "Whether the caller holds `permission`, directly or by a wildcard." })
  async can(@Arg("permission", () => String) permission: string, @Ctx() ctx: Context) {
    return can(await actorOf(ctx), permission);
  }
}
