export { MFA_CONFLICTS } from "./mfa.errors.js";
export { MfaResolver } from "./mfa.resolver.js";
export { mfaRules } from "./mfa.rules.js";
export { MfaService } from "./mfa.service.js";
export { TotpSetup } from "./mfa.type.js";
