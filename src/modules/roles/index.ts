export { RoleLoaders } from "./role.loaders.js";
export { RoleResolver } from "./role.resolver.js";
export { roleRules } from "./role.rules.js";
export { ROLE_CONFLICTS } from "./role.errors.js";
export {
  type CarryingRole,
  isFixedRole,
  keysOf,
  type RoleChange,
  roleNames,
  RoleService,
  rolesDiff,
} from "./role.service.js";
export { Role } from "./role.type.js";
export { CreateRoleInput, UpdateRoleInput } from "./role.inputs.js";
