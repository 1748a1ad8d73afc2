import { Arg, Mutation, Query, Resolver } from "type-graphql";

import { Actor, InTenant, NeedsInOrganization } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import type { Tenant } from "../../kernel/request.js";
import { CreateRoleInput, Role, type RoleService, UpdateRoleInput } from "../roles/index.js";

/** An organization's own roles: the same service as the platform's, in the organization's realm. */
@Resolver(() => Role)
export class OrganizationRoleResolver {
  constructor(private readonly roles: RoleService) {}

  @Query(() => [Role], { description: "The organization's roles, by name." })
  @NeedsInOrganization("org.roles.read")
  organizationRoles(@InTenant() tenant: Tenant) {
    return this.roles.list(tenant);
  }

  @Mutation(() => Role, {
    description: "Organization roles carry organization permissions and the application's own, never platform ones.",
  })
  @NeedsInOrganization("org.roles.manage", { and: "every permission given to the role" })
  createOrganizationRole(
    @InTenant() tenant: Tenant,
    @Arg("input", () => CreateRoleInput) input: CreateRoleInput,
    @Actor() actor: Principal,
  ) {
    return this.roles.create(actor, tenant, input);
  }

  @Mutation(() => Role, { description: "System roles keep their name." })
  @NeedsInOrganization("org.roles.manage", { and: "every permission the role carries" })
  updateOrganizationRole(
    @InTenant() tenant: Tenant,
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdateRoleInput) input: UpdateRoleInput,
    @Actor() actor: Principal,
  ) {
    return this.roles.update(actor, tenant, id, input);
  }

  @Mutation(() => Boolean, { description: "System roles stay." })
  @NeedsInOrganization("org.roles.manage", { and: "every permission the role carries" })
  deleteOrganizationRole(@InTenant() tenant: Tenant, @Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    return this.roles.delete(actor, tenant, id);
  }

  @Mutation(() => Role, { description: "Replaces the role's permissions. The owner role keeps its own." })
  @NeedsInOrganization("org.roles.manage", { and: "every permission the role carries and is given" })
  setOrganizationRolePermissions(
    @InTenant() tenant: Tenant,
    @Arg("roleId", () => UUID) roleId: string,
    @Arg("permissionIds", () => [UUID]) permissionIds: string[],
    @Actor() actor: Principal,
  ) {
    return this.roles.setPermissions(actor, tenant, roleId, permissionIds);
  }
}
