export { SessionResolver } from "./session.resolver.js";
export { sessionRules } from "./session.rules.js";
export { type IssuedRefreshToken, type RevokeReason, SessionService } from "./session.service.js";
export { Session } from "./session.type.js";
