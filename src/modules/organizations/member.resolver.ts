import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";

import { actorOf, type Context } from "../../graphql/context.js";
import { PageArgs } from "../../graphql/pagination.js";
import { asActor } from "../permissions/index.js";
import { Role } from "../roles/index.js";
import { InOrganization, InviteMemberInput, MemberFilter } from "./organization.inputs.js";
import {
  InvitationPreview,
  Organization,
  OrganizationInvitation,
  OrganizationMember,
  OrganizationMemberPage,
} from "./organization.type.js";
import { UUID } from "../../graphql/scalars.js";

@Resolver(() => OrganizationMember)
export class MemberResolver {
  @Query(() => OrganizationMemberPage, { description: "Members, first joined first. Needs org.members.read." })
  async members(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => MemberFilter, { nullable: true }) filter: MemberFilter | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.members.list(await ctx.tenant(organizationId), page, filter);
  }

  @Query(() => [OrganizationInvitation], { description: "Pending invitations, newest first. Needs org.members.read." })
  async invitations(@Args(() => InOrganization) { organizationId }: InOrganization, @Ctx() ctx: Context) {
    return ctx.services.members.pending(await ctx.tenant(organizationId));
  }

  @Query(() => InvitationPreview, { description: "What an invitation link is for, without using it." })
  invitation(@Arg("token", () => String) token: string, @Ctx() ctx: Context) {
    return ctx.services.members.preview(token);
  }

  @Mutation(() => OrganizationInvitation, {
    description:
      "Mails a single-use link (valid 7 days) to join with a role (member by default). " +
      "Needs org.members.invite, and every permission the role carries.",
  })
  async inviteMember(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("input", () => InviteMemberInput) input: InviteMemberInput,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.members.invite(await actorOf(ctx), await ctx.tenant(organizationId), input);
  }

  @Mutation(() => Boolean, { description: "The link stops working. Needs org.members.invite." })
  async revokeInvitation(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("id", () => UUID) id: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.members.revokeInvitation(await actorOf(ctx), await ctx.tenant(organizationId), id);
  }

  @Mutation(() => Organization, {
    description: "Joins the organization of an invitation; the caller's address must be the one invited.",
  })
  async acceptInvitation(@Arg("token", () => String) token: string, @Ctx() ctx: Context) {
    const actor = await actorOf(ctx);
    const organizationId = await ctx.services.members.accept(asActor(actor), token);
    return ctx.services.organizations.byId(organizationId);
  }

  @Mutation(() => Boolean, {
    description:
      "Removes a member. Needs org.members.remove, and every permission the member holds there. The last owner stays.",
  })
  async removeMember(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("userId", () => UUID) userId: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.members.remove(await actorOf(ctx), await ctx.tenant(organizationId), userId);
  }

  @Mutation(() => Boolean, { description: "The caller leaves an organization. Its last owner cannot." })
  async leaveOrganization(@Arg("organizationId", () => UUID) organizationId: string, @Ctx() ctx: Context) {
    return ctx.services.members.leave(await actorOf(ctx), organizationId);
  }

  @Mutation(() => OrganizationMember, {
    description:
      "Grants a role of the organization to a member. Needs org.roles.manage, and every permission it carries.",
  })
  async assignOrganizationRole(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.members.assignRole(await actorOf(ctx), await ctx.tenant(organizationId), userId, roleId);
  }

  @Mutation(() => OrganizationMember, {
    description:
      "Takes a role of the organization from a member. Needs org.roles.manage, and every permission it carries. The last owner stays.",
  })
  async unassignOrganizationRole(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.members.unassignRole(await actorOf(ctx), await ctx.tenant(organizationId), userId, roleId);
  }

  @FieldResolver(() => [Role])
  roles(@Root() member: OrganizationMember, @Ctx() ctx: Context) {
    return ctx.loaders.rolesByMember.load(member);
  }
}
