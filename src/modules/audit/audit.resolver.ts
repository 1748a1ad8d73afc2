import { Args, Ctx, Query, Resolver } from "type-graphql";
import type { Context } from "../../graphql/context.js";
import { AuditEventArgs } from "./audit.inputs.js";
import { AuditEventConnection } from "./audit.type.js";

@Resolver()
export class AuditResolver {
  @Query(() => AuditEventConnection, { description: "The audit trail, newest first. Needs audit.read." })
  auditEvents(@Args(() => AuditEventArgs) args: AuditEventArgs, @Ctx() ctx: Context) {
    return ctx.services.audit.find(args.filter ?? {}, args.first, args.after);
  }
}
