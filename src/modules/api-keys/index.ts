export { API_KEY_PROBLEMS, type ApiKeyProblem } from "./api-key.errors.js";
export { ApiKeyResolver } from "./api-key.resolver.js";
export { apiKeyRules, isSessionCaller, sessionOnlyFields, withSessionOnly } from "./api-key.rules.js";
export { type ApiKeyIdentity, type ApiKeyOptions, ApiKeyService } from "./api-key.service.js";
export { ApiKey, CreatedApiKey } from "./api-key.type.js";
