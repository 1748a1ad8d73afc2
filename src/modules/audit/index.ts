export { AuditResolver } from "./audit.resolver.js";
export { auditRules } from "./audit.rules.js";
export { AuditService } from "./audit.service.js";
export { AuditEventFilter } from "./audit.inputs.js";
export { AuditEvent } from "./audit.type.js";
