import { Arg, Args, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor, InTenant, NeedsInOrganization } from "../../graphql/decorators.js";
import { PageArgs } from "../../graphql/pagination.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import type { Tenant } from "../../kernel/request.js";
import { Role, type RoleLoaders } from "../roles/index.js";
import type { MemberService } from "./member.service.js";
import { InviteMemberInput, MemberFilter } from "./organization.inputs.js";
import {
  InvitationPreview,
  Organization,
  OrganizationInvitation,
  OrganizationMember,
  OrganizationMemberPage,
} from "./organization.type.js";

/** The member whose organization roles this request changed: the answer shows them (OrganizationMember.roles). */
function rolesShown<T extends { organizationId: string; userId: string }>(ctx: Context, member: T): T {
  ctx.changedIds.add(`${member.organizationId}/${member.userId}`);
  return member;
}

@Resolver(() => OrganizationMember)
export class MemberResolver {
  constructor(
    private readonly service: MemberService,
    private readonly loaders: RoleLoaders,
  ) {}

  @Query(() => OrganizationMemberPage, { description: "Members, first joined first." })
  @NeedsInOrganization("org.members.read")
  members(
    @InTenant() tenant: Tenant,
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => MemberFilter, { nullable: true }) filter: MemberFilter | undefined,
  ) {
    return this.service.list(tenant, page, filter);
  }

  @Query(() => [OrganizationInvitation], { description: "Pending invitations, newest first." })
  @NeedsInOrganization("org.members.read")
  invitations(@InTenant() tenant: Tenant) {
    return this.service.pending(tenant);
  }

  @Query(() => InvitationPreview, { description: "What an invitation link is for, without using it." })
  invitation(@Arg("token", () => String) token: string) {
    return this.service.preview(token);
  }

  @Mutation(() => OrganizationInvitation, {
    description:
      "Mails a single-use link (valid 7 days) to join with a role (member by default). " +
      "Needs org.members.invite, and every permission the role carries.",
  })
  inviteMember(
    @InTenant() tenant: Tenant,
    @Arg("input", () => InviteMemberInput) input: InviteMemberInput,
    @Actor() actor: Principal,
  ) {
    return this.service.invite(actor, tenant, input);
  }

  @Mutation(() => Boolean, { description: "The link stops working." })
  @NeedsInOrganization("org.members.invite")
  revokeInvitation(@InTenant() tenant: Tenant, @Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    return this.service.revokeInvitation(actor, tenant, id);
  }

  @Mutation(() => Organization, {
    description: "Joins the organization of an invitation; the caller's address must be the one invited.",
  })
  acceptInvitation(@Arg("token", () => String) token: string, @Actor() actor: Principal) {
    return this.service.join(actor, token);
  }

  @Mutation(() => Boolean, { description: "Removes a member. The last owner stays." })
  @NeedsInOrganization("org.members.remove", { and: "every permission the member holds there" })
  removeMember(@InTenant() tenant: Tenant, @Arg("userId", () => UUID) userId: string, @Actor() actor: Principal) {
    return this.service.remove(actor, tenant, userId);
  }

  @Mutation(() => Boolean, { description: "The caller leaves an organization. Its last owner cannot." })
  leaveOrganization(@Arg("organizationId", () => UUID) organizationId: string, @Actor() actor: Principal) {
    return this.service.leave(actor, organizationId);
  }

  @Mutation(() => OrganizationMember, { description: "Grants a role of the organization to a member." })
  @NeedsInOrganization("org.roles.manage", { and: "every permission it carries" })
  async assignOrganizationRole(
    @InTenant() tenant: Tenant,
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return rolesShown(ctx, await this.service.assignRole(actor, tenant, userId, roleId));
  }

  @Mutation(() => OrganizationMember, {
    description: "Takes a role of the organization from a member. The last owner stays.",
  })
  @NeedsInOrganization("org.roles.manage", { and: "every permission it carries" })
  async unassignOrganizationRole(
    @InTenant() tenant: Tenant,
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return rolesShown(ctx, await this.service.unassignRole(actor, tenant, userId, roleId));
  }

  /** One membership per organization and user: a user's memberships of two organizations differ. */
  @FieldResolver(() => ID)
  id(@Root() member: Pick<OrganizationMember, "organizationId" | "userId">): string {
    return `${member.organizationId}:${member.userId}`;
  }

  @FieldResolver(() => [Role])
  roles(@Root() member: OrganizationMember, @Ctx() ctx: Context) {
    return this.loaders.of(ctx).rolesByMember.load(member);
  }
}
