import { allow } from "graphql-shield";
import { requirePermission } from "../permissions/index.js";

export const auditRules = {
  Query: { auditEvents: requirePermission("audit.read") },
  AuditEventConnection: { "*": allow },
  AuditEventEdge: { "*": allow },
  AuditEvent: { "*": allow },
  AuditActor: { "*": allow },
  AuditTarget: { "*": allow },
  AuditChange: { "*": allow },
  CursorPageInfo: { "*": allow },
};
