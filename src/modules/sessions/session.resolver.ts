import { Arg, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor, Needs } from "../../graphql/decorators.js";
import { UUID } from "../../graphql/scalars.js";
import { NotFoundError } from "../../kernel/errors.js";
import type { Principal } from "../../kernel/principal.js";
import type { SessionService } from "./session.service.js";
import { Session } from "./session.type.js";

@Resolver(() => Session)
export class SessionResolver {
  constructor(private readonly service: SessionService) {}

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
}
