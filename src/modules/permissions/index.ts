export { AccessService } from "./access.js";
export {
  accessRules,
  declaredPermissionRules,
  isAuthenticated,
  isPublic,
  organizationPermission,
  platformOrOrganizationPermission,
  requireOrganizationPermission,
  requirePermission,
  requirePlatformRole,
  selfOrPermission,
} from "./access.rules.js";
export { AccessResolver } from "./access.resolver.js";
export { PERMISSION_CONFLICTS } from "./permission.errors.js";
export { PermissionResolver } from "./permission.resolver.js";
export { permissionRules } from "./permission.rules.js";
export { PermissionService } from "./permission.service.js";
export { Permission } from "./permission.type.js";
