import { allow, and, or, rule } from "graphql-shield";
import type { Context } from "../../graphql/context.js";
import { rateLimited } from "../../graphql/rate-limit.js";
import {
  isAuthenticated,
  isPublic,
  organizationPermission,
  requireOrganizationPermission,
} from "../permissions/index.js";

/**
 * The member whose organization roles this request's mutation changed (assignOrganizationRole and
 * unassignOrganizationRole need org.roles.manage): its answer shows the roles they set.
 */
const memberRolesChangedHere = rule("member-roles-changed-here", { cache: "no_cache" })(
  (parent: { organizationId: string; userId: string }, _args, ctx: Context) =>
    ctx.changedIds.has(`${parent.organizationId}/${parent.userId}`),
);

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
    roles: or(
      memberRolesChangedHere,
      organizationPermission(
        "org.members.read",
        (parent: { organizationId: string }) => parent.organizationId,
        "member",
      ),
    ),
  },
};
