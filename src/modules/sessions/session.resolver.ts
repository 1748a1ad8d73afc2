import { Arg, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";

import { actorOf, type Context } from "../../graphql/context.js";
import { NotFoundError } from "../../graphql/errors.js";
import { Session } from "./session.type.js";
import { UUID } from "../../graphql/scalars.js";

@Resolver(() => Session)
export class SessionResolver {
  @Query(() => [Session], { description: "The caller's active sessions, most recently used first." })
  async sessions(@Ctx() ctx: Context) {
    return ctx.services.sessions.list((await actorOf(ctx)).userId);
  }

  @Query(() => [Session], { description: "Another user's active sessions. Needs users.read." })
  userSessions(@Arg("userId", () => UUID) userId: string, @Ctx() ctx: Context) {
    return ctx.services.sessions.list(userId);
  }

  @FieldResolver(() => Boolean, { description: "Whether this is the session of the calling token." })
  current(@Root() session: Session, @Ctx() ctx: Context) {
    return session.id === ctx.token?.sessionId;
  }

  @Mutation(() => Boolean, { description: "Ends one of the caller's sessions, on every device at once." })
  async revokeSession(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    if (!(await ctx.services.sessions.revokeOwn(await actorOf(ctx), id))) {
      throw new NotFoundError("Session");
    }
    return true;
  }

  @Mutation(() => Boolean, { description: "Ends the current session; its access token stops working at once." })
  async logout(@Ctx() ctx: Context) {
    await ctx.services.auth.logout(await actorOf(ctx), ctx.token!);
    return true;
  }

  @Mutation(() => Int, {
    description:
      "Ends every session of the caller. Returns how many ended. With removeLinkedAccounts, every linked " +
      "provider identity is unlinked too; that needs recent re-authentication (currentPassword or mfaCode " +
      "here, or a stepUp of this session within 5 minutes).",
  })
  async logoutAll(
    @Arg("removeLinkedAccounts", () => Boolean, { defaultValue: false }) removeLinkedAccounts: boolean,
    @Arg("currentPassword", () => String, { nullable: true }) _currentPassword: string | undefined,
    @Arg("mfaCode", () => String, { nullable: true }) _mfaCode: string | undefined,
    @Ctx() ctx: Context,
  ) {
    // The proof arguments are checked by the re-authentication rule, before this runs.
    return ctx.services.auth.logoutAll(await actorOf(ctx), removeLinkedAccounts);
  }

  @Mutation(() => Int, {
    description:
      "Ends every session of a user. Needs users.update, and every permission the user holds. Returns how many ended.",
  })
  async revokeUserSessions(@Arg("userId", () => UUID) userId: string, @Ctx() ctx: Context) {
    return ctx.services.users.revokeSessions(await actorOf(ctx), userId);
  }
}
