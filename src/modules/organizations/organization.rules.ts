import { allow, and } from "graphql-shield";
import { rateLimited } from "../../graphql/rate-limit.js";
import {
  isAuthenticated,
  isPublic,
  organizationPermission,
  requireOrganizationPermission,
} from "../permissions/index.js";

// A field that needs one permission declares it itself (@Needs, @NeedsInOrganization in the
// resolvers); here the rest.
export const organizationRules = {
  Query: {
    organizations: isAuthenticated,
    organization: organizationPermission("org.read", (_parent, args) => args.id as string, "id"),
    activeOrganization: isAuthenticated,
    invitation: isPublic,
  },
  Mutation: {
    // Both make Kafkey send mail or rows on the caller's say-so: counted per IP.
    createOrganization: and(isAuthenticated, rateLimited("createOrganization")),
    switchOrganization: isAuthenticated,
    inviteMember: and(requireOrganizationPermission("org.members.invite"), rateLimited("inviteMember")),
    acceptInvitation: isAuthenticated,
    leaveOrganization: isAuthenticated,
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
