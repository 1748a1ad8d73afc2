import { allow, and } from "graphql-shield";
import { rateLimited } from "../../graphql/rate-limit.js";
import { isAuthenticated, isPublic, organizationPermission, requirePermission } from "../permissions/index.js";
import { type OrganizationPermission } from "../../kernel/permission-catalog.js";

/** A root field acting on its `organizationId` argument, else the active organization. */
const inArgument = (key: OrganizationPermission) =>
  organizationPermission(key, (_parent, args) => args.organizationId as string | undefined, "argument");

export const organizationRules = {
  Query: {
    organizations: isAuthenticated,
    allOrganizations: requirePermission("orgs.read"),
    organization: organizationPermission("org.read", (_parent, args) => args.id as string, "id"),
    activeOrganization: isAuthenticated,
    members: inArgument("org.members.read"),
    invitations: inArgument("org.members.read"),
    invitation: isPublic,
    organizationRoles: inArgument("org.roles.read"),
  },
  Mutation: {
    // Both make Kafkey send mail or rows on the caller's say-so: counted per IP.
    createOrganization: and(isAuthenticated, rateLimited("createOrganization")),
    updateOrganization: inArgument("org.update"),
    deleteOrganization: inArgument("org.delete"),
    switchOrganization: isAuthenticated,
    inviteMember: and(inArgument("org.members.invite"), rateLimited("inviteMember")),
    revokeInvitation: inArgument("org.members.invite"),
    acceptInvitation: isAuthenticated,
    removeMember: inArgument("org.members.remove"),
    leaveOrganization: isAuthenticated,
    assignOrganizationRole: inArgument("org.roles.manage"),
    unassignOrganizationRole: inArgument("org.roles.manage"),
    createOrganizationRole: inArgument("org.roles.manage"),
    updateOrganizationRole: inArgument("org.roles.manage"),
    deleteOrganizationRole: inArgument("org.roles.manage"),
    setOrganizationRolePermissions: inArgument("org.roles.manage"),
  },
  // Every way to these starts at a guarded root field.
  Organization: { "*": allow },
  OrganizationPage: { "*": allow },
  OrganizationSwitch: { "*": allow },
  OrganizationInvitation: { "*": allow },
  InvitationPreview: { "*": allow },
  OrganizationMemberPage: { "*": allow },
  OrganizationMember: {
    "*": allow,
    // Guarded again by the member's own organization: a list never leads into another one.
    roles: organizationPermission(
      "org.members.read",
      (parent: { organizationId: string }) => parent.organizationId,
      "member",
    ),
  },
};
