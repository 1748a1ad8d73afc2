import { allow } from "graphql-shield";
import { platformOrOrganizationPermission } from "../permissions/index.js";

export const auditRules = {
  Query: { auditEvents: platformOrOrganizationPermission("audit.read") },
  AuditEventConnection: { "*": allow },
  AuditEventEdge: { "*": allow },
  AuditEvent: { "*": allow },
  AuditActor: { "*": allow },
  AuditTarget: { "*": allow },
  AuditChange: { "*": allow },
  CursorPageInfo: { "*": allow },
};
