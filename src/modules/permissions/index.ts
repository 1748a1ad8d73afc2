export { AccessService, asActor, can, firstMissing, type Principal } from "./access.js";
export { accessRules, isAuthenticated, isPublic, requirePermission, selfOrPermission } from "./access.rules.js";
export { AccessResolver } from "./access.resolver.js";
export { PERMISSION_CATALOG, SystemRole, isCatalogPermission } from "./catalog.js";
export { PermissionResolver } from "./permission.resolver.js";
export { permissionRules } from "./permission.rules.js";
export { PermissionService } from "./permission.service.js";
export { Permission } from "./permission.type.js";
