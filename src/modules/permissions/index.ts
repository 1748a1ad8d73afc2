export {
  AccessService,
  type ActiveOrganization,
  asActor,
  can,
  canInOrganization,
  firstMissing,
  firstMissingGrant,
  holdsNow,
  organizationGrants,
  type OrganizationRefusal,
  type Principal,
  profileOf,
  USER_PROFILE_COLUMNS,
  USER_SECRETS,
  type UserProfile,
} from "./access.js";
export {
  accessRules,
  isAuthenticated,
  isPublic,
  organizationPermission,
  platformOrOrganizationPermission,
  requirePermission,
  requirePlatformRole,
  selfOrPermission,
} from "./access.rules.js";
export { AccessResolver } from "./access.resolver.js";
export {
  ORGANIZATION_PERMISSIONS,
  ORGANIZATION_ROLES,
  type OrganizationPermission,
  PERMISSION_CATALOG,
  SystemRole,
  isCatalogPermission,
  isOrganizationAssignable,
} from "./catalog.js";
export { PermissionResolver } from "./permission.resolver.js";
export { permissionRules } from "./permission.rules.js";
export { PermissionService } from "./permission.service.js";
export { Permission } from "./permission.type.js";
