import { Arg, Mutation, Query, Resolver } from "type-graphql";

import { Actor, Needs } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import { CreatePermissionInput, UpdatePermissionInput } from "./permission.inputs.js";
import type { PermissionService } from "./permission.service.js";
import { Permission } from "./permission.type.js";

@Resolver(() => Permission)
export class PermissionResolver {
  constructor(private readonly service: PermissionService) {}

  @Query(() => [Permission], { description: "Every permission, by key." })
  @Needs("permissions.read")
  permissions() {
    return this.service.list();
  }

  @Query(() => Permission)
  @Needs("permissions.read")
  permission(@Arg("id", () => UUID) id: string) {
    return this.service.get(id);
  }

  @Mutation(() => Permission)
  @Needs("permissions.create")
  createPermission(@Arg("input", () => CreatePermissionInput) input: CreatePermissionInput, @Actor() actor: Principal) {
    return this.service.create(actor, input);
  }

  @Mutation(() => Permission)
  @Needs("permissions.update", {
    and: "the permission itself; a new key also needs the caller to hold that key",
  })
  updatePermission(
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdatePermissionInput) input: UpdatePermissionInput,
    @Actor() actor: Principal,
  ) {
    return this.service.update(actor, id, input);
  }

  @Mutation(() => Boolean, { description: "Built-in permissions cannot be deleted." })
  @Needs("permissions.delete", { and: "the permission itself" })
  deletePermission(@Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    return this.service.delete(actor, id);
  }
}
