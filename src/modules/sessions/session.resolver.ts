import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor, Needs } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import { NotFoundError } from "../../kernel/errors.js";
import type { Principal, VerifiedAccessToken } from "../../kernel/principal.js";
import type { SessionService } from "./session.service.js";
import { Session } from "./session.type.js";

/**
 * Signing out: the auth module's AuthService (which also unlinks provider identities). Named here, not
 * imported, because that module imports this one.
 */
export interface SignOut {
  logout(actor: Principal, token: VerifiedAccessToken): Promise<void>;
  logoutAll(actor: Principal, removeLinkedAccounts: boolean): Promise<number>;
}

/**
 * Ending another user's sessions: the users module's UserService (which decides whom an actor may
 * manage). Named here, not imported, because that module imports this one.
 */
export interface UserSessions {
  revokeSessions(actor: Principal, userId: string): Promise<number>;
}

@Resolver(() => Session)
export class SessionResolver {
  constructor(
    private readonly service: SessionService,
    private readonly auth: SignOut,
    private readonly users: UserSessions,
  ) {}

  @Query(() => [Session], { description: "The caller's active sessions, most recently used first." })
  sessions(@Actor() actor: Principal) {
    return this.service.list(actor.userId);
  }

  @Query(() => [Session], { description: "Another user's active sessions." })
  @Needs("users.read")
  userSessions(@Arg("userId", () => UUID) userId: string) {
    return this.service.list(userId);
  }

  @FieldResolver(() => Boolean, { description: "Whether this is the session of the calling token." })
  current(@Root() session: Session, @Ctx() ctx: Context) {
    return session.id === ctx.token?.sessionId;
  }

  @Mutation(() => Boolean, { description: "Ends one of the caller's sessions, on every device at once." })
  async revokeSession(@Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    if (!(await this.service.revokeOwn(actor, id))) throw new NotFoundError("Session");
    return true;
  }

  @Mutation(() => Boolean, { description: "Ends the current session; its access token stops working at once." })
  async logout(@Actor() actor: Principal, @Ctx() ctx: Context) {
    await this.auth.logout(actor, ctx.token!);
    return true;
  }

  @Mutation(() => Int, {
    description:
      "Ends every session of the caller. Returns how many ended. With removeLinkedAccounts, every linked " +
      "provider identity is unlinked too; that needs recent re-authentication (currentPassword or mfaCode " +
      "here, or a stepUp of this session within 5 minutes).",
  })
  logoutAll(
    @Arg("removeLinkedAccounts", () => Boolean, { defaultValue: false }) removeLinkedAccounts: boolean,
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true }) _mfaCode: string | undefined,
    @Actor() actor: Principal,
  ) {
    // The proof arguments are checked by the re-authentication rule, before this runs.
    return this.auth.logoutAll(actor, removeLinkedAccounts);
  }

  @Mutation(() => Int, { description: "Ends every session of a user. Returns how many ended." })
  @Needs("users.update", { and: "every permission the user holds" })
  revokeUserSessions(@Arg("userId", () => UUID) userId: string, @Actor() actor: Principal) {
    return this.users.revokeSessions(actor, userId);
  }
}
