import { Arg, Args, Ctx, Mutation, Query, Resolver } from "type-graphql";

import { actorOf, type Context } from "../../graphql/context.js";
import { PageArgs } from "../../graphql/pagination.js";
import { CreateOrganizationInput, InOrganization, UpdateOrganizationInput } from "./organization.inputs.js";
import { Organization, OrganizationPage, OrganizationSwitch } from "./organization.type.js";
import { UUID } from "../../graphql/scalars.js";

@Resolver(() => Organization)
export class OrganizationResolver {
  @Query(() => [Organization], { description: "The organizations the caller belongs to, by name." })
  async organizations(@Ctx() ctx: Context) {
    return ctx.services.organizations.mine((await actorOf(ctx)).userId);
  }

  @Query(() => OrganizationPage, { description: "Every organization, oldest first. Needs orgs.read (platform)." })
  allOrganizations(
    @Args(() => PageArgs) page: PageArgs,
    @Arg("search", () => String, { nullable: true, description: "Part of the name or slug" })
    search: string | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.organizations.all(page, search?.slice(0, 100));
  }

  @Query(() => Organization, { description: "Needs org.read in it (or orgs.read)." })
  async organization(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    return ctx.services.organizations.get(await ctx.tenant(id));
  }

  @Query(() => Organization, {
    nullable: true,
    description: "The organization this request acts in (token's org claim or x-organization-id), if any.",
  })
  async activeOrganization(@Ctx() ctx: Context) {
    const actor = await actorOf(ctx);
    return actor.organization ? ctx.services.organizations.get(await ctx.tenant(actor.organization.id)) : null;
  }

  @Mutation(() => Organization, {
    description:
      "Creates an organization with owner, admin and member roles; the caller becomes its owner. " +
      "Who may is set by KAFKEY_ORGANIZATION_CREATION (verified users by default).",
  })
  async createOrganization(
    @Arg("input", () => CreateOrganizationInput) input: CreateOrganizationInput,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.organizations.create(await actorOf(ctx), input);
  }

  @Mutation(() => Organization, { description: "Needs org.update; changing the status needs orgs.manage." })
  async updateOrganization(
    @Args(() => InOrganization) { organizationId }: InOrganization,
    @Arg("input", () => UpdateOrganizationInput) input: UpdateOrganizationInput,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.organizations.update(await actorOf(ctx), await ctx.tenant(organizationId), input);
  }

  @Mutation(() => Boolean, {
    description: "Deletes the organization, its members, roles and invitations. Needs org.delete (its owners).",
  })
  async deleteOrganization(@Args(() => InOrganization) { organizationId }: InOrganization, @Ctx() ctx: Context) {
    return ctx.services.organizations.delete(await actorOf(ctx), await ctx.tenant(organizationId));
  }

  @Mutation(() => OrganizationSwitch, {
    description:
      "Makes the calling session act in an organization the caller belongs to (null: in none), and " +
      "answers an access token carrying it. Refreshed tokens keep it.",
  })
  async switchOrganization(
    @Arg("organizationId", () => UUID, { nullable: true }) organizationId: string | null,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.organizations.switchTo(await actorOf(ctx), ctx.token!.sessionId, organizationId ?? null);
  }
}
