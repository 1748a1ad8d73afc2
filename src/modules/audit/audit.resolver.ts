import { Args, Ctx, Query, Resolver } from "type-graphql";
import { actorOf, type Context } from "../../graphql/context.js";
import { can } from "../permissions/index.js";
import { AuditEventArgs } from "./audit.inputs.js";
import { AuditEventConnection } from "./audit.type.js";

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, {
    description:
      "The audit trail, newest first. Needs audit.read: through a platform role, the whole trail; through a role in the active organization, that organization's events only.",
  })
  async auditEvents(@Args(() => AuditEventArgs) args: AuditEventArgs, @Ctx() ctx: Context) {
    const filter = { ...args.filter };
    if (!can(await actorOf(ctx), "audit.read")) filter.organizationId = (await ctx.tenant()).organizationId;
    return ctx.services.audit.find(filter, args.first, args.after);
  }
}
