import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";

import { actorOf, type Context } from "../../graphql/context.js";
import { Permission } from "../permissions/index.js";
import { CreateRoleInput, UpdateRoleInput } from "./role.inputs.js";
import { Role } from "./role.type.js";
import { UUID } from "../../graphql/scalars.js";

@Resolver(() => Role)
export class RoleResolver {
  @Query(() => [Role], { description: "Every platform role, by name. Needs roles.read." })
  roles(@Ctx() ctx: Context) {
    return ctx.services.roles.list(ctx.services.roles.platform);
  }

  @Query(() => Role, { description: "Needs roles.read." })
  role(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    return ctx.services.roles.get(ctx.services.roles.platform, id);
  }

  @Mutation(() => Role, { description: "Needs roles.create, and every permission given to the role." })
  async createRole(@Arg("input", () => CreateRoleInput) input: CreateRoleInput, @Ctx() ctx: Context) {
    return ctx.services.roles.create(await actorOf(ctx), ctx.services.roles.platform, input);
  }

  @Mutation(() => Role, {
    description: "Needs roles.update, and every permission the role carries. System roles keep their name.",
  })
  async updateRole(
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdateRoleInput) input: UpdateRoleInput,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.roles.update(await actorOf(ctx), ctx.services.roles.platform, id, input);
  }

  @Mutation(() => Boolean, {
    description: "Needs roles.delete, and every permission the role carries. System roles cannot be deleted.",
  })
  async deleteRole(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    return ctx.services.roles.delete(await actorOf(ctx), ctx.services.roles.platform, id);
  }

  @Mutation(() => Role, {
    description:
      "Replaces the role's permissions. Needs roles.update, and every permission the role carries and is given. " +
      "The admin role keeps its own.",
  })
  async setRolePermissions(
    @Arg("roleId", () => UUID) roleId: string,
    @Arg("permissionIds", () => [UUID]) permissionIds: string[],
    @Ctx() ctx: Context,
  ) {
    return ctx.services.roles.setPermissions(await actorOf(ctx), ctx.services.roles.platform, roleId, permissionIds);
  }

  @FieldResolver(() => [Permission])
  permissions(@Root() role: Role, @Ctx() ctx: Context) {
    return ctx.loaders.permissionsByRoleId.load(role.id);
  }
}
