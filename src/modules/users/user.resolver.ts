import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";

import { actorOf, type Context } from "../../graphql/context.js";
import { PageArgs } from "../../graphql/pagination.js";
import { Role } from "../roles/index.js";
import { UpdateMeInput, UpdateUserInput, UserFilter } from "./user.inputs.js";
import { User, UserPage } from "./user.type.js";
import { UUID } from "../../graphql/scalars.js";

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { description: "The signed-in user." })
  async me(@Ctx() ctx: Context) {
    // Loaded with the caller's grants, and cached with them until the user changes.
    return (await actorOf(ctx)).profile;
  }

  @Mutation(() => User, { description: "Changes the caller's own profile." })
  async updateMe(@Arg("input", () => UpdateMeInput) input: UpdateMeInput, @Ctx() ctx: Context) {
    return ctx.services.users.updateMe((await actorOf(ctx)).userId, input);
  }

  @Query(() => UserPage, { description: "Users, oldest first. Needs the admin role and users.read." })
  users(
    @Args(() => PageArgs) page: PageArgs,
    @Arg("filter", () => UserFilter, { nullable: true }) filter: UserFilter | undefined,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.users.list(page, filter);
  }

  @Query(() => User, { description: "Needs users.read." })
  user(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    return ctx.services.users.get(id);
  }

  @Mutation(() => User, {
    description: "Needs users.update, and every permission the user holds. The last active admin cannot be disabled.",
  })
  async updateUser(
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdateUserInput) input: UpdateUserInput,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.users.update(await actorOf(ctx), id, input);
  }

  @Mutation(() => Boolean, {
    description: "Needs users.delete, and every permission the user holds. The last active admin cannot be deleted.",
  })
  async deleteUser(@Arg("id", () => UUID) id: string, @Ctx() ctx: Context) {
    return ctx.services.users.delete(await actorOf(ctx), id);
  }

  @Mutation(() => User, { description: "Needs users.update, and every permission the role carries." })
  async assignRole(
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.users.assignRole(await actorOf(ctx), userId, roleId);
  }

  @Mutation(() => User, {
    description: "Needs users.update, every permission the role carries, and every permission the user holds.",
  })
  async removeRole(
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Ctx() ctx: Context,
  ) {
    return ctx.services.users.removeRole(await actorOf(ctx), userId, roleId);
  }

  @FieldResolver(() => [Role])
  roles(@Root() user: User, @Ctx() ctx: Context) {
    return ctx.loaders.rolesByUserId.load(user.id);
  }
}
