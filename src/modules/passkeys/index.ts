export { PasskeysOffError } from "./passkey.errors.js";
export { PasskeyResolver } from "./passkey.resolver.js";
export { passkeyRules } from "./passkey.rules.js";
export { type PasskeyOptions, PasskeyService } from "./passkey.service.js";
export { Passkey } from "./passkey.type.js";
