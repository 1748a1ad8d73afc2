export { KeyResolver } from "./key.resolver.js";
export { keyRules } from "./key.rules.js";
export { SigningKey } from "./key.type.js";
export { registerWellKnownRoutes } from "./well-known.routes.js";
export { SIGNING_ALGORITHM, SigningKeys, type SigningKeyOptions } from "./signing-keys.service.js";
