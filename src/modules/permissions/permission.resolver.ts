import { Arg, Ctx, Mutation, Query, Resolver } from "type-graphql";

import { actorOf, type Context } from "../../graphql/context.js";
import { CreatePermissionInput, UpdatePermissionInput } from "./permission.inputs.js";
import { Permission } from "./permission.type.js";
import { UUID } from "../../graphql/scalars.js";

@Resolver(() => Permission)
export class PermissionResolver {
  @Query(() => [Permission], { description: "Every permission, by key. Needs permissions.read." })
  permissions(@Ctx() ctx: Context) {
    return ctx.services.permissions.list();
  }

  @Query(() => Permission, { description: "Needs permissions.read." })
  permission(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    return ctx.services.permissions.get(id);
  }

  @Mutation(() => Permission, { description: "Needs permissions.create." })
  async createPermission(@Arg("input", () => CreatePermissionInput) input: CreatePermissionInput, @Ctx() ctx: Context) {
    return ctx.services.permissions.create(await actorOf(ctx), input);
  }

  @Mutation(() => Permission, {
    description:
      "Needs permissions.update, and the permission itself; a new key also needs the caller to hold that key.",
  })
  async updatePermission(
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdatePermissionInput) input: UpdatePermissionInput,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.permissions.update(await actorOf(ctx), id, input);
  }

  @Mutation(() => Boolean, {
    description: "Needs permissions.delete, and the permission itself. Built-in permissions cannot be deleted.",
  })
  async deletePermission(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    return ctx.services.permissions.delete(await actorOf(ctx), id);
  }
}
