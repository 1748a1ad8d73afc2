export { AuditResolver } from "./audit.resolver.js";
export { auditRules } from "./audit.rules.js";
export { AuditService } from "./audit.service.js";
