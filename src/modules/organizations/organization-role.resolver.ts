import { Arg, Args, Ctx, Mutation, Query, Resolver } from "type-graphql";

import { actorOf, type Context } from "../../graphql/context.js";
import { CreateRoleInput, Role, UpdateRoleInput } from "../roles/index.js";
import { InOrganization } from "./organization.inputs.js";
import { UUID } from "../../graphql/scalars.js";

/** An organization's own roles: the same service as the platform's, in the organization's realm. */
@Resolver(() => Role)
export class OrganizationRoleResolver {
  @Query(() => [Role], { description: "The organization's roles, by name. Needs org.roles.read." })
  async organizationRoles(@Args(() => InOrganization) { organizationId }: InOrganization, @Ctx() ctx: Context) {
    return ctx.services.roles.list(await ctx.tenant(organizationId));
  }

  @Mutation(() => Role, {
    description:
      "Needs org.roles.manage, and every permission given to the role. Organization roles carry organization " +
      "permissions and the application's own, never platform ones.",
  })
  async createOrganizationRole(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("input", () => CreateRoleInput) input: CreateRoleInput,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.roles.create(await actorOf(ctx), await ctx.tenant(organizationId), input);
  }

  @Mutation(() => Role, {
    description: "Needs org.roles.manage, and every permission the role carries. System roles keep their name.",
  })
  async updateOrganizationRole(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdateRoleInput) input: UpdateRoleInput,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.roles.update(await actorOf(ctx), await ctx.tenant(organizationId), id, input);
  }

  @Mutation(() => Boolean, {
    description: "Needs org.roles.manage, and every permission the role carries. System roles stay.",
  })
  async deleteOrganizationRole(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("id", () => UUID) id: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.roles.delete(await actorOf(ctx), await ctx.tenant(organizationId), id);
  }

  @Mutation(() => Role, {
    description:
      "Replaces the role's permissions. Needs org.roles.manage, and every permission the role carries and is given. " +
      "The owner role keeps its own.",
  })
  async setOrganizationRolePermissions(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("roleId", () => UUID) roleId: string,
    @Arg("permissionIds", () => [UUID]) permissionIds: string[],
    @Ctx() ctx: Context,
  ) {
    return ctx.services.roles.setPermissions(
      await actorOf(ctx),
      await ctx.tenant(organizationId),
      roleId,
      permissionIds,
    );
  }
}
