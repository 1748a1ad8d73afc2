export { NotificationResolver } from "./notification.resolver.js";
export { notificationRules } from "./notification.rules.js";
export { NotificationService } from "./notification.service.js";
