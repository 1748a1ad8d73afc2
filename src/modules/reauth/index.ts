export { REAUTH_CONFLICTS } from "./reauth.errors.js";
export { ReauthResolver } from "./reauth.resolver.js";
export { CREDENTIAL_MUTATIONS, type CredentialMutation, NON_CREDENTIAL_MUTATIONS } from "./credential-mutations.js";
export { reauthRules, withReauthentication } from "./reauth.rules.js";
export { PROOF_MS, type ReauthProof, ReauthService } from "./reauth.service.js";
