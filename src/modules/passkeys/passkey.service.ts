import { createHmac, type KeyObject } from "node:crypto";
import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import type { Passkey as PasskeyRecord } from "../../generated/prisma/client.js";
import { type AuditTrail, onOwnAccount } from "../../platform/audit/audit-trail.js";
import { lockRow, type Prisma, type PrismaClient } from "../../platform/db/database.js";
import type { KeyValueStore } from "../../platform/kv/kv.js";
import type { Logger } from "../../platform/observability/logger.js";
import { hashToken } from "../../platform/secret-tokens.js";
import { AUTH_CONFLICTS, type AuthResult, type SignInProof } from "../auth/index.js";
import { normalizeEmail } from "../users/index.js";
import { invalidPasskey, PasskeysOffError } from "./passkey.errors.js";
import { type ClientInfo } from "../../kernel/request.js";
import { BadUserInputError, ConflictError, ForbiddenError, NotFoundError } from "../../kernel/errors.js";
import { asActor, type Principal } from "../../kernel/principal.js";

/** How long a ceremony may take, from its options to its answer; its challenge dies then. */
const CEREMONY_MS = 5 * 60_000;
const NAME_MAX = 100;
/** Passkeys one user may hold: registration is refused past it. */
const MAX_PASSKEYS = 50;
/** The most a browser's answer carries in a field that is read before it is verified. */
const MAX_FIELD = 16_384;

export interface PasskeyOptions {
  /** KAFKEY_WEBAUTHN_RP_ID; undefined: passkeys are off. */
  rpId: string | undefined;
  /** KAFKEY_WEBAUTHN_RP_NAME. */
  rpName: string;
  /** Where ceremonies may happen: Kafkey's own origin and KAFKEY_CORS_ORIGINS (config.passkeyOrigins). */
  origins: string[];
}

/** What a ceremony's challenge is for, kept in the shared store until it is answered once. */
type Ceremony = { purpose: "register"; userId: string } | { purpose: "login" } | { purpose: "mfa"; userId: string };

/** The sign-ins passkeys lead to, in the auth module (given lazily: auth is built with this service). */
export interface PasskeySignIn {
  signInProven(userId: string, proof: SignInProof, client: ClientInfo): Promise<AuthResult>;
  /** The user a pending MFA challenge is for, or null when the token is unknown or expired. */
  pendingMfaUser(mfaToken: string): Promise<string | null>;
}

export interface PasskeyDependencies {
  prisma: PrismaClient;
  kv: KeyValueStore;
  audit: AuditTrail;
  auth: PasskeySignIn;
  /** Decides whom an admin may manage (removing another user's passkey). */
  users: { requireManageable(actor: Principal, userId: string): Promise<void> };
  /** The key of the stable fake credential ids answered for unknown addresses. */
  fakeIdKey: KeyObject;
  options: PasskeyOptions;
  log: Logger;
}

/** A browser's answer, checked for the shape the library reads before it verifies anything. */
interface CeremonyAnswer {
  json: RegistrationResponseJSON & AuthenticationResponseJSON;
  challenge: string;
}

const challengeKey = (challenge: string) => `passkey:challenge:${hashToken(challenge)}`;

/** A user id (a UUID) as the WebAuthn user handle: its 16 bytes. */
const userHandleOf = (userId: string) => new Uint8Array(Buffer.from(userId.replaceAll("-", ""), "hex"));

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const isShortString = (value: unknown): value is string => typeof value === "string" && value.length <= MAX_FIELD;

/**
 * Reads the browser's answer (`PublicKeyCredential.toJSON()`, or @simplewebauthn/browser's) far enough
 * to find its challenge. @returns undefined for anything that is not such an answer.
 */
function readAnswer(value: unknown): CeremonyAnswer | undefined {
  let parsed = value;
  if (typeof value === "string") {
    if (value.length > 4 * MAX_FIELD) return undefined;
    try {
      parsed = JSON.parse(value);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(parsed) || !isRecord(parsed.response)) return undefined;
  const { id, rawId, type, response } = parsed;
  if (!isShortString(id) || id === "" || rawId !== id || type !== "public-key") return undefined;
  if (!isShortString(response.clientDataJSON)) return undefined;
  for (const field of ["attestationObject", "authenticatorData", "signature", "userHandle"]) {
    if (response[field] !== undefined && !isShortString(response[field])) return undefined;
  }
  let clientData: unknown;
  try {
    clientData = JSON.parse(Buffer.from(response.clientDataJSON, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isRecord(clientData) || !isShortString(clientData.challenge) || clientData.challenge === "") return undefined;
  const json = {
    ...parsed,
    clientExtensionResults: isRecord(parsed.clientExtensionResults) ? parsed.clientExtensionResults : {},
  };
  return { json: json as unknown as CeremonyAnswer["json"], challenge: clientData.challenge };
}

function checkName(raw: string | undefined, path: string): string {
  const name = (raw ?? "Passkey").trim();
  if (name === "" || name.length > NAME_MAX) {
    throw new BadUserInputError([{ path, message: `must be 1 to ${NAME_MAX} characters` }]);
  }
  return name;
}

/**
 * Passkeys (WebAuthn): registering them for a signed-in person, signing in with one (usernameless or
 * for an email), using one as the second factor after a password, and listing, renaming and removing
 * them. Each ceremony's challenge is single-use and lives 5 minutes in the shared store, so any instance
 * completes a ceremony another began. A signature counter that goes back is refused and recorded: the
 * credential was copied.
 */
export class PasskeyService {
  constructor(private readonly deps: PasskeyDependencies) {}

  private get rpId(): string {
    const { rpId } = this.deps.options;
    if (rpId === undefined) throw new PasskeysOffError();
    return rpId;
  }

  /** The caller's passkeys, oldest first. */
  list(userId: string): Promise<PasskeyRecord[]> {
    return this.deps.prisma.passkey.findMany({ where: { userId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
  }

  /** Another user's passkeys, for an admin (users.update). */
  async listOf(userId: string): Promise<PasskeyRecord[]> {
    const user = await this.deps.prisma.user.findUnique({ where: { id: userId }, select: { id: true } });
    if (!user) throw new NotFoundError("User");
    return this.list(userId);
  }

  /**
   * The options for `navigator.credentials.create` (pass them to @simplewebauthn/browser's
   * `startRegistration({ optionsJSON })`): a discoverable credential preferred, user verification
   * required, no attestation, the user's own passkeys excluded. The caller re-authenticated (the
   * reauth rule). Service accounts never get passkeys.
   */
  async registrationOptions(actor: Principal): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const rpID = this.rpId;
    const { prisma, options } = this.deps;
    const user = await prisma.user.findUniqueOrThrow({
      where: { id: actor.userId },
      include: { passkeys: { select: { credentialId: true, transports: true } } },
    });
    if (user.kind !== "human") throw new ForbiddenError(undefined, "Service accounts cannot have passkeys");
    if (user.passkeys.length >= MAX_PASSKEYS) {
      throw new BadUserInputError([{ path: "passkeys", message: `at most ${MAX_PASSKEYS} per account` }]);
    }
    const creation = await generateRegistrationOptions({
      rpName: options.rpName,
      rpID,
      userName: user.email,
      userID: userHandleOf(user.id),
      userDisplayName: user.displayName,
      timeout: CEREMONY_MS,
      attestationType: "none",
      excludeCredentials: user.passkeys.map((p) => ({ id: p.credentialId, transports: p.transports })),
      authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
    });
    await this.remember(creation.challenge, { purpose: "register", userId: user.id });
    return creation;
  }

  /** Verifies the browser's answer to registrationOptions and keeps the new passkey. */
  async register(actor: Principal, response: unknown, rawName: string | undefined): Promise<PasskeyRecord> {
    const rpID = this.rpId;
    const name = checkName(rawName, "name");
    const { prisma, audit, log } = this.deps;
    const refused = () => new BadUserInputError([{ path: "response", message: "is not a valid passkey registration" }]);
    const answer = readAnswer(response);
    if (!answer) throw refused();
    const ceremony = await this.takeCeremony(answer.challenge);
    if (ceremony?.purpose !== "register" || ceremony.userId !== actor.userId) throw refused();
    let info;
    try {
      const verification = await verifyRegistrationResponse({
        response: answer.json,
        expectedChallenge: answer.challenge,
        expectedOrigin: this.deps.options.origins,
        expectedRPID: rpID,
        requireUserVerification: true,
      });
      if (!verification.verified) throw new Error("not verified");
      info = verification.registrationInfo;
    } catch (error) {
      log.warn("passkey registration refused", {
        event: "auth.passkey_refused",
        userId: actor.userId,
        reason: String(error),
      });
      throw refused();
    }
    const { credential } = info;
    const user = await prisma.user.findUniqueOrThrow({ where: { id: actor.userId } });
    if (user.kind !== "human") throw new ForbiddenError(undefined, "Service accounts cannot have passkeys");
    const passkey = await prisma.$transaction(async (tx) => {
      const created = await tx.passkey.create({
        data: {
          userId: user.id,
          credentialId: credential.id,
          publicKey: new Uint8Array(credential.publicKey),
          counter: BigInt(credential.counter),
          transports: credential.transports ?? [],
          deviceType: info.credentialDeviceType,
          backedUp: info.credentialBackedUp,
          name,
        },
      });
      await audit.record(onOwnAccount("auth.passkey_registered", user), tx);
      return created;
    });
    log.info("passkey registered", { event: "auth.passkey_registered", userId: user.id, passkeyId: passkey.id });
    return passkey;
  }

  /**
   * The options for `navigator.credentials.get` for a sign-in. Without an email: usernameless (the
   * authenticator offers its discoverable passkeys; conditional UI works). With one: that account's
   * passkeys; an unknown address (or one without passkeys) gets the same shape, with a fake credential
   * id derived from the address, the same on every call: the answer tells nobody whether it exists.
   */
  async loginOptions(rawEmail: string | undefined): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const rpID = this.rpId;
    let allowCredentials: { id: string; transports?: string[] }[] | undefined;
    if (rawEmail !== undefined) {
      const email = normalizeEmail(rawEmail);
      const user = await this.deps.prisma.user.findUnique({
        where: { email },
        select: {
          kind: true,
          passkeys: { select: { credentialId: true, transports: true }, orderBy: { createdAt: "asc" } },
        },
      });
      const real = user?.kind === "human" ? user.passkeys : [];
      allowCredentials =
        real.length > 0
          ? real.map((p) => ({ id: p.credentialId, transports: p.transports }))
          : [{ id: this.fakeCredentialId(email), transports: ["hybrid", "internal"] }];
    }
    const request = await generateAuthenticationOptions({
      rpID,
      allowCredentials,
      timeout: CEREMONY_MS,
      userVerification: "required",
    });
    await this.remember(request.challenge, { purpose: "login" });
    return request;
  }

  /**
   * Signs in with the browser's answer to loginOptions. User verification is required, so the passkey
   * counts as two factors: no TOTP challenge follows. @returns what `login` answers.
   */
  async login(response: unknown, client: ClientInfo): Promise<AuthResult> {
    const rpID = this.rpId;
    const answer = readAnswer(response);
    if (!answer) throw invalidPasskey();
    const ceremony = await this.takeCeremony(answer.challenge);
    if (ceremony?.purpose !== "login") throw invalidPasskey();
    const passkey = await this.deps.prisma.passkey.findUnique({ where: { credentialId: answer.json.id } });
    if (!passkey) throw invalidPasskey();
    const handle = answer.json.response.userHandle;
    if (handle && handle !== Buffer.from(userHandleOf(passkey.userId)).toString("base64url")) throw invalidPasskey();
    const verified = await this.verifyUse(passkey, answer, rpID, true);
    if (!verified) throw invalidPasskey();
    return this.deps.auth.signInProven(
      passkey.userId,
      {
        action: "auth.passkey_login",
        credential: { type: "passkey", id: passkey.id },
        twoFactors: verified.userVerified,
      },
      client,
    );
  }

  /**
   * The options for `navigator.credentials.get` as the second factor of a login that answered
   * mfaRequired: the passkeys of that login's user. The mfaToken proves the password was right.
   */
  async mfaOptions(mfaToken: string): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const rpID = this.rpId;
    const userId = await this.deps.auth.pendingMfaUser(mfaToken);
    if (!userId) throw invalidPasskey();
    const passkeys = await this.list(userId);
    if (passkeys.length === 0) throw new NotFoundError("Passkey");
    const request = await generateAuthenticationOptions({
      rpID,
      allowCredentials: passkeys.map((p) => ({ id: p.credentialId, transports: p.transports })),
      timeout: CEREMONY_MS,
      userVerification: "preferred",
    });
    await this.remember(request.challenge, { purpose: "mfa", userId });
    return request;
  }

  /**
   * Checks a second factor: the browser's answer to mfaOptions, by one of `userId`'s passkeys. The
   * caller (verifyMfa) counts a false answer like a wrong code. @returns whether it was accepted.
   */
  async checkSecondFactor(userId: string, response: unknown): Promise<boolean> {
    // Off, no answer can be right: counted as wrong like any other.
    const rpID = this.deps.options.rpId;
    if (rpID === undefined) return false;
    const answer = readAnswer(response);
    if (!answer) return false;
    const ceremony = await this.takeCeremony(answer.challenge);
    if (ceremony?.purpose !== "mfa" || ceremony.userId !== userId) return false;
    const passkey = await this.deps.prisma.passkey.findUnique({ where: { credentialId: answer.json.id } });
    if (passkey?.userId !== userId) return false;
    if (!(await this.verifyUse(passkey, answer, rpID, false))) return false;
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    await this.deps.audit.record({
      action: "auth.passkey_used",
      actor: { id: user.id, email: user.email },
      target: { type: "passkey", id: passkey.id },
    });
    return true;
  }

  /** Renames one of the caller's passkeys. */
  async rename(actor: Principal, id: string, rawName: string): Promise<PasskeyRecord> {
    const name = checkName(rawName, "name");
    const { prisma, audit } = this.deps;
    return prisma.$transaction(async (tx) => {
      const found = await tx.passkey.findFirst({ where: { id, userId: actor.userId } });
      if (!found) throw new NotFoundError("Passkey");
      const renamed = await tx.passkey.update({ where: { id }, data: { name } });
      await audit.record(
        {
          action: "auth.passkey_renamed",
          actor: asActor(actor),
          target: { type: "passkey", id },
          changes: [{ field: "name", before: found.name, after: name }],
        },
        tx,
      );
      return renamed;
    });
  }

  /**
   * Removes one of the caller's passkeys (after recent re-authentication). The last way to sign in
   * stays: without a password or a linked account, the last passkey cannot go (CONFLICT).
   */
  async remove(actor: Principal, id: string): Promise<void> {
    await this.removeOf(actor.userId, id, (user) => onOwnAccount("auth.passkey_removed", user));
    this.deps.log.info("passkey removed", { event: "auth.passkey_removed", userId: actor.userId, passkeyId: id });
  }

  /** Removes a user's passkey as an admin (users.update and every permission the user holds). */
  async removeOfUser(actor: Principal, userId: string, id: string): Promise<void> {
    await this.deps.users.requireManageable(actor, userId);
    await this.removeOf(userId, id, () => ({
      action: "user.passkey_removed",
      actor: asActor(actor),
      target: { type: "user", id: userId },
      changes: [{ field: "passkey", before: id, after: null }],
    }));
    this.deps.log.info("passkey removed by an admin", { event: "user.passkey_removed", userId, passkeyId: id });
  }

  private async removeOf(
    userId: string,
    id: string,
    audited: (user: { id: string; email: string }) => Parameters<AuditTrail["record"]>[0],
  ): Promise<void> {
    const { prisma, audit } = this.deps;
    await prisma.$transaction(async (tx) => {
      // Locked, so that two removals (or an unlink) at once cannot both take what the other counted on.
      await lockRow(tx, "users", userId);
      const passkey = await tx.passkey.findFirst({ where: { id, userId } });
      if (!passkey) throw new NotFoundError("Passkey");
      const user = await tx.user.findUniqueOrThrow({
        where: { id: userId },
        select: {
          id: true,
          email: true,
          passwordHash: true,
          _count: { select: { passkeys: true, socialAccounts: true } },
        },
      });
      if (!user.passwordHash && user._count.socialAccounts === 0 && user._count.passkeys <= 1) {
        throw new ConflictError(
          "This passkey is the account's last way to sign in: set a password or add another passkey first",
          AUTH_CONFLICTS.LAST_SIGN_IN_METHOD,
        );
      }
      await tx.passkey.delete({ where: { id } });
      await audit.record(audited(user), tx as Prisma.TransactionClient);
    });
  }

  /**
   * Verifies an assertion by `passkey` and moves its counter on. A counter that does not move past the
   * stored one (when either is non-zero) means a copy of the credential signed: refused and recorded as
   * a security event. The signature is verified first, so only the key's holder can raise that alarm.
   * @returns the verification, or undefined when refused.
   */
  private async verifyUse(
    passkey: PasskeyRecord,
    answer: CeremonyAnswer,
    rpID: string,
    requireUserVerification: boolean,
  ): Promise<{ userVerified: boolean } | undefined> {
    const { prisma, log } = this.deps;
    let info;
    try {
      const verification = await verifyAuthenticationResponse({
        response: answer.json,
        expectedChallenge: answer.challenge,
        expectedOrigin: this.deps.options.origins,
        expectedRPID: rpID,
        // The counter is compared below, after the signature: the library compares it before.
        credential: {
          id: passkey.credentialId,
          publicKey: new Uint8Array(passkey.publicKey),
          counter: 0,
          transports: passkey.transports,
        },
        requireUserVerification,
      });
      if (!verification.verified) throw new Error("signature not verified");
      info = verification.authenticationInfo;
    } catch (error) {
      log.warn("passkey refused", { event: "auth.passkey_refused", userId: passkey.userId, reason: String(error) });
      return undefined;
    }
    const next = BigInt(info.newCounter);
    const moved =
      (next === 0n && passkey.counter === 0n) || next > passkey.counter
        ? await prisma.passkey.updateMany({
            // Only past what is stored now: of two uses with one counter value, one wins.
            where: { id: passkey.id, counter: next === 0n ? 0n : { lt: next } },
            data: {
              counter: next,
              lastUsedAt: new Date(),
              backedUp: info.credentialBackedUp,
              deviceType: info.credentialDeviceType,
            },
          })
        : { count: 0 };
    if (moved.count === 0) {
      await this.cloned(passkey, info.newCounter);
      return undefined;
    }
    return { userVerified: info.userVerified };
  }

  private async cloned(passkey: PasskeyRecord, presented: number): Promise<void> {
    const user = await this.deps.prisma.user.findUniqueOrThrow({ where: { id: passkey.userId } });
    this.deps.log.warn("passkey counter went back: refused", {
      event: "security.passkey_cloned",
      userId: user.id,
      passkeyId: passkey.id,
      storedCounter: passkey.counter.toString(),
      presentedCounter: presented,
    });
    await this.deps.audit.record({
      ...onOwnAccount("security.passkey_cloned", user),
      outcome: "failure",
      changes: [{ field: "passkey", before: passkey.id, after: passkey.id }],
    });
  }

  /** A stable fake credential id for an address without passkeys: the same on every call and instance. */
  private fakeCredentialId(email: string): string {
    return createHmac("sha256", this.deps.fakeIdKey).update(email).digest("base64url");
  }

  private async remember(challenge: string, ceremony: Ceremony): Promise<void> {
    await this.deps.kv.set(challengeKey(challenge), JSON.stringify(ceremony), CEREMONY_MS);
  }

  /** The ceremony of a challenge, taken: whatever happens next, it is not answered twice. */
  private async takeCeremony(challenge: string): Promise<Ceremony | undefined> {
    const raw = await this.deps.kv.take(challengeKey(challenge));
    return raw === null ? undefined : (JSON.parse(raw) as Ceremony);
  }
}
