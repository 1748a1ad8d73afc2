import { GraphQLError } from "graphql";
import { ErrorCode, UnauthenticatedError } from "../../kernel/errors.js";

/** Passkeys are off on this server (KAFKEY_WEBAUTHN_RP_ID unset): the ceremonies answer NOT_FOUND. */
export class PasskeysOffError extends GraphQLError {
  constructor() {
    super("Passkeys are not enabled on this server", { extensions: { code: ErrorCode.NOT_FOUND } });
  }
}

/**
 * A passkey sign-in that does not prove anything: an unknown, used or expired challenge, an unknown
 * credential, a bad signature, a counter that went back. One answer for all, to tell an attacker nothing.
 */
export const invalidPasskey = () => new UnauthenticatedError("Invalid or expired passkey response");
