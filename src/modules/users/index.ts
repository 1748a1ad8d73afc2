export { UserResolver } from "./user.resolver.js";
export { USER_CONFLICTS } from "./user.errors.js";
export { userRules } from "./user.rules.js";
export { normalizeEmail, UserService } from "./user.service.js";
export { User, UserStatus } from "./user.type.js";
export { DisplayName, EmailAddress } from "./user.inputs.js";
