import { allow } from "graphql-shield";
import { isAuthenticated, platformOrOrganizationPermission } from "../permissions/index.js";

// A subscription's rule runs on each event it delivers; its subscribe step checks for itself
// (live.ts), since graphql-shield does not guard it.
export const notificationRules = {
  Query: { notifications: isAuthenticated },
  Mutation: { markNotificationsRead: isAuthenticated },
  Subscription: {
    securityEvents: isAuthenticated,
    auditEvents: platformOrOrganizationPermission("audit.read"),
    notificationAdded: isAuthenticated,
  },
  SecurityEvent: { "*": allow },
  Notification: { "*": allow },
  NotificationEdge: { "*": allow },
  NotificationConnection: { "*": allow },
};
