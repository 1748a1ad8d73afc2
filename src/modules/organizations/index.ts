export { MemberResolver } from "./member.resolver.js";
export { MemberService } from "./member.service.js";
export { OrganizationRoleResolver } from "./organization-role.resolver.js";
export { ORGANIZATION_CONFLICTS } from "./organization.errors.js";
export { OrganizationResolver } from "./organization.resolver.js";
export { organizationRules } from "./organization.rules.js";
export { type OrganizationCreation, OrganizationService } from "./organization.service.js";
