import { Args, Query, Resolver } from "type-graphql";
import { Actor } from "../../graphql/decorators.js";
import type { Principal } from "../../kernel/principal.js";
import { AuditEventArgs } from "./audit.inputs.js";
import type { AuditService } from "./audit.service.js";
import { AuditEventConnection } from "./audit.type.js";

@Resolver()
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

  @Query(() => AuditEventConnection, {
    description:
      "The audit trail, newest first. Needs audit.read: through a platform role, the whole trail; through a role in the active organization, that organization's events only.",
  })
  auditEvents(@Args(() => AuditEventArgs) args: AuditEventArgs, @Actor() actor: Principal) {
    return this.audit.find(actor, args.filter, args.first, args.after);
  }
}
