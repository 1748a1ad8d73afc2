export { RoleLoaders } from "./role.loaders.js";
export { RoleResolver } from "./role.resolver.js";
export { roleRules } from "./role.rules.js";
export { type RoleRealm, RoleService } from "./role.service.js";
export { Role } from "./role.type.js";
export { CreateRoleInput, UpdateRoleInput } from "./role.inputs.js";
