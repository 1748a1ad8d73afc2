import { Arg, Query, Resolver } from "type-graphql";

import { Actor } from "../../graphql/decorators.js";
import { holdsNow, type Principal } from "../../kernel/principal.js";
import type { AccessService } from "./access.js";

@Resolver()
export class AccessResolver {
  constructor(private readonly access: AccessService) {}

  @Query(() => [String], {
    description:
      "The caller's effective permissions, wildcards expanded: their platform roles', and their roles' in the active organization.",
  })
  myPermissions(@Actor() actor: Principal) {
    return this.access.effectivePermissions(actor);
  }

  @Query(() => Boolean, {
    description:
      "Whether the caller holds `permission`, directly or by a wildcard, through a platform role or a role in the active organization.",
  })
  can(@Arg("permission", () => String) permission: string, @Actor() actor: Principal) {
    return holdsNow(actor, permission);
  }
}
