import { Arg, Args, Ctx, FieldResolver, Int, Mutation, Query, Resolver, Root } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor, Needs } from "../../graphql/decorators.js";
import { PageArgs } from "../../graphql/pagination.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import { Role, type RoleLoaders } from "../roles/index.js";
import { UpdateMeInput, UpdateUserInput, UserFilter } from "./user.inputs.js";
import type { UserService } from "./user.service.js";
import { User, UserPage } from "./user.type.js";

/** `user`, whom this request changed: the answer shows their fields (userRules' User.email and roles). */
function shown<T extends { id: string }>(ctx: Context, user: T): T {
  ctx.changedIds.add(user.id);
  return user;
}

@Resolver(() => User)
export class UserResolver {
  constructor(
    private readonly service: UserService,
    private readonly loaders: RoleLoaders,
  ) {}

  @Query(() => User, { description: "The signed-in user." })
  me(@Actor() actor: Principal) {
    // Loaded with the caller's grants, and cached with them until the user changes.
    return actor.profile;
  }

  @Mutation(() => User, { description: "Changes the caller's own profile." })
  updateMe(@Arg("input", () => UpdateMeInput) input: UpdateMeInput, @Actor() actor: Principal) {
    return this.service.updateMe(actor.userId, input);
  }

  @Query(() => UserPage, { description: "Users, oldest first. Needs the admin role and users.read." })
  users(
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => UserFilter, { nullable: true }) filter: UserFilter | undefined,
  ) {
    return this.service.list(page, filter);
  }

  @Query(() => User)
  @Needs("users.read")
  user(@Arg("id", () => UUID) id: string) {
    return this.service.get(id);
  }

  @Mutation(() => User, { description: "The last active admin cannot be disabled." })
  @Needs("users.update", { and: "every permission the user holds" })
  async updateUser(
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdateUserInput) input: UpdateUserInput,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return shown(ctx, await this.service.update(actor, id, input));
  }

  @Mutation(() => Boolean, { description: "The last active admin cannot be deleted." })
  @Needs("users.delete", { and: "every permission the user holds" })
  deleteUser(@Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    return this.service.delete(actor, id);
  }

  @Mutation(() => User)
  @Needs("users.update", { and: "every permission the role carries" })
  async assignRole(
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return shown(ctx, await this.service.assignRole(actor, userId, roleId));
  }

  @Mutation(() => User)
  @Needs("users.update", { and: "every permission the role carries and every permission the user holds" })
  async removeRole(
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Actor() actor: Principal,
    @Ctx() ctx: Context,
  ) {
    return shown(ctx, await this.service.removeRole(actor, userId, roleId));
  }

  @FieldResolver(() => [Role])
  roles(@Root() user: User, @Ctx() ctx: Context) {
    return this.loaders.of(ctx).rolesByUserId.load(user.id);
  }

  @Mutation(() => Int, { description: "Ends every session of a user. Returns how many ended." })
  @Needs("users.update", { and: "every permission the user holds" })
  revokeUserSessions(@Arg("userId", () => UUID) userId: string, @Actor() actor: Principal) {
    return this.service.revokeSessions(actor, userId);
  }
}
