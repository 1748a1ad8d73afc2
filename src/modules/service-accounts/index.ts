export { ServiceAccountResolver } from "./service-account.resolver.js";
export { serviceAccountRules } from "./service-account.rules.js";
export { requireAccess, type ServiceAccountRecord, ServiceAccountService } from "./service-account.service.js";
export { ServiceAccount } from "./service-account.type.js";
