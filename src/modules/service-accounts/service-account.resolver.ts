import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";
import type { Context } from "../../graphql/context.js";
import { Actor } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import type { Realm } from "../../kernel/request.js";
import { Role, type RoleLoaders, type RoleService } from "../roles/index.js";
import { CreateServiceAccountInput, UpdateServiceAccountInput } from "./service-account.inputs.js";
import type { ServiceAccountService } from "./service-account.service.js";
import { ServiceAccount } from "./service-account.type.js";

const ORGANIZATION_ARG = {
  nullable: true,
  description: "An organization's service accounts; the platform's when omitted.",
} as const;
const NEEDS =
  "Needs service_accounts.read (service_accounts.manage to change one), or in the organization " +
  "org.service_accounts.read (org.service_accounts.manage)";

@Resolver(() => ServiceAccount)
export class ServiceAccountResolver {
  constructor(
    private readonly service: ServiceAccountService,
    private readonly roleService: RoleService,
    private readonly loaders: RoleLoaders,
  ) {}

  /** The realm of `organizationId`: the platform, or that organization as the caller may act in it. */
  private realm(ctx: Context, organizationId: string | null | undefined): Promise<Realm> {
    return organizationId ? ctx.tenant(organizationId) : Promise.resolve(this.roleService.platform);
  }

  @Query(() => [ServiceAccount], { description: `Service accounts, oldest first. ${NEEDS}.` })
  async serviceAccounts(
    @Arg("organizationId", () => UUID, ORGANIZATION_ARG) organizationId: string | undefined,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return this.service.list(actor, await this.realm(ctx, organizationId));
  }

  @Query(() => ServiceAccount, { description: `One service account. ${NEEDS}.` })
  serviceAccount(@Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    return this.service.get(actor, id);
  }

  @Mutation(() => ServiceAccount, {
    description: `Creates a service account, with roles whose every permission the caller holds. ${NEEDS}.`,
  })
  async createServiceAccount(
    @Arg("input", () => CreateServiceAccountInput) input: CreateServiceAccountInput,
    @Arg("organizationId", () => UUID, ORGANIZATION_ARG) organizationId: string | undefined,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return this.service.create(actor, await this.realm(ctx, organizationId), input);
  }

  @Mutation(() => ServiceAccount, {
    description:
      "Renames, disables or enables a service account, or replaces its roles; the caller must hold every " +
      `permission it holds, and every permission of each role granted or taken away. ${NEEDS}.`,
  })
  async updateServiceAccount(
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdateServiceAccountInput) input: UpdateServiceAccountInput,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    const account = await this.service.get(actor, id, "manage");
    return this.service.update(actor, await this.realm(ctx, account.organizationId), id, input);
  }

  @Mutation(() => Boolean, {
    description: `Deletes a service account; its API keys stop working at the next request. ${NEEDS}.`,
  })
  async deleteServiceAccount(@Arg("id", () => UUID) id: string, @Actor() actor: Principal, @Ctx() ctx: Context) {
    const account = await this.service.get(actor, id, "manage");
    return this.service.delete(actor, await this.realm(ctx, account.organizationId), id);
  }

  @FieldResolver(() => [Role], { description: "The roles it holds: the platform's, or its organization's." })
  roles(@Root() account: ServiceAccount, @Ctx() ctx: Context) {
    const loaders = this.loaders.of(ctx);
    return account.organizationId === null
      ? loaders.rolesByUserId.load(account.id)
      : loaders.rolesByMember.load({ organizationId: account.organizationId, userId: account.id });
  }
}
