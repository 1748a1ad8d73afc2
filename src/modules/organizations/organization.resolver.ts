import { Arg, Args, Ctx, Mutation, Query, Resolver } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor, InTenant, Needs, NeedsInOrganization } from "../../graphql/decorators.js";
import { PageArgs } from "../../graphql/pagination.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import type { Tenant } from "../../kernel/request.js";
import { CreateOrganizationInput, UpdateOrganizationInput } from "./organization.inputs.js";
import type { OrganizationService } from "./organization.service.js";
import { Organization, OrganizationPage, OrganizationSwitch } from "./organization.type.js";

@Resolver(() => Organization)
export class OrganizationResolver {
  constructor(private readonly service: OrganizationService) {}

  @Query(() => [Organization], { description: "The organizations the caller belongs to, by name." })
  organizations(@Actor() actor: Principal) {
    return this.service.mine(actor.userId);
  }

  @Query(() => OrganizationPage, { description: "Every organization, oldest first." })
  @Needs("orgs.read")
  allOrganizations(
    @Args(() => PageArgs) page: PageArgs,
    @Arg("search", () => String, { nullable: true, description: "Part of the name or slug" })
    search: string | undefined,
  ) {
    return this.service.all(page, search?.slice(0, 100));
  }

  // The organization is named by `id`, not by the `organizationId` that @InTenant() declares.
  @Query(() => Organization, { description: "Needs org.read in it (or orgs.read)." })
  async organization(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    return this.service.get(await ctx.tenant(id));
  }

  // Null without an active organization, where @InTenant() would refuse (and declare an argument).
  @Query(() => Organization, {
    nullable: true,
    description: "The organization this request acts in (token's org claim or x-organization-id), if any.",
  })
  async activeOrganization(@Actor() actor: Principal, @Ctx() ctx: Context) {
    return actor.organization ? this.service.get(await ctx.tenant(actor.organization.id)) : null;
  }

  @Mutation(() => Organization, {
    description:
      "Creates an organization with owner, admin and member roles; the caller becomes its owner. " +
      "Who may is set by KAFKEY_ORGANIZATION_CREATION (verified users by default).",
  })
  createOrganization(
    @Arg("input", () => CreateOrganizationInput) input: CreateOrganizationInput,
    @Actor() actor: Principal,
  ) {
    return this.service.create(actor, input);
  }

  @Mutation(() => Organization)
  @NeedsInOrganization("org.update", { and: "orgs.manage to change the status" })
  updateOrganization(
    @InTenant() tenant: Tenant,
    @Arg("input", () => UpdateOrganizationInput) input: UpdateOrganizationInput,
    @Actor() actor: Principal,
  ) {
    return this.service.update(actor, tenant, input);
  }

  @Mutation(() => Boolean, { description: "Deletes the organization, its members, roles and invitations." })
  @NeedsInOrganization("org.delete")
  deleteOrganization(@InTenant() tenant: Tenant, @Actor() actor: Principal) {
    return this.service.delete(actor, tenant);
  }

  @Mutation(() => OrganizationSwitch, {
    description:
      "Makes the calling session act in an organization the caller belongs to (null: in none), and " +
      "answers an access token carrying it. Refreshed tokens keep it.",
  })
  switchOrganization(
    @Arg("organizationId", () => UUID, { nullable: true }) organizationId: string | null,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return this.service.switchTo(actor, ctx.token!.sessionId, organizationId ?? null);
  }
}
