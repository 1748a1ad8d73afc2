export { EmailSignInOffError, SIGN_IN_CODE_REASONS } from "./sign-in-code.errors.js";
export { SignInCodeResolver } from "./sign-in-code.resolver.js";
export { signInCodeRules } from "./sign-in-code.rules.js";
export { type SignInCodeOptions, SignInCodeService } from "./sign-in-code.service.js";
