import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor, Needs } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import { Permission } from "../permissions/index.js";
import { CreateRoleInput, UpdateRoleInput } from "./role.inputs.js";
import type { RoleLoaders } from "./role.loaders.js";
import type { RoleService } from "./role.service.js";
import { Role } from "./role.type.js";

@Resolver(() => Role)
export class RoleResolver {
  constructor(
    private readonly service: RoleService,
    private readonly loaders: RoleLoaders,
  ) {}

  @Query(() => [Role], { description: "Every platform role, by name." })
  @Needs("roles.read")
  roles() {
    return this.service.list(this.service.platform);
  }

  @Query(() => Role)
  @Needs("roles.read")
  role(@Arg("id", () => UUID) id: string) {
    return this.service.get(this.service.platform, id);
  }

  @Mutation(() => Role)
  @Needs("roles.create", { and: "every permission given to the role" })
  createRole(@Arg("input", () => CreateRoleInput) input: CreateRoleInput, @Actor() actor: Principal) {
    return this.service.create(actor, this.service.platform, input);
  }

  @Mutation(() => Role, { description: "System roles keep their name." })
  @Needs("roles.update", { and: "every permission the role carries" })
  updateRole(
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdateRoleInput) input: UpdateRoleInput,
    @Actor() actor: Principal,
  ) {
    return this.service.update(actor, this.service.platform, id, input);
  }

  @Mutation(() => Boolean, { description: "System roles cannot be deleted." })
  @Needs("roles.delete", { and: "every permission the role carries" })
  deleteRole(@Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    return this.service.delete(actor, this.service.platform, id);
  }

  @Mutation(() => Role, { description: "Replaces the role's permissions. The admin role keeps its own." })
  @Needs("roles.update", { and: "every permission the role carries and is given" })
  setRolePermissions(
    @Arg("roleId", () => UUID) roleId: string,
    @Arg("permissionIds", () => [UUID]) permissionIds: string[],
    @Actor() actor: Principal,
  ) {
    return this.service.setPermissions(actor, this.service.platform, roleId, permissionIds);
  }

  @FieldResolver(() => [Permission])
  permissions(@Root() role: Role, @Ctx() ctx: Context) {
    return this.loaders.of(ctx).permissionsByRoleId.load(role.id);
  }
}
