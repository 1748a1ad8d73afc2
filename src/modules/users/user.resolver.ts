import { Arg, Args, Ctx, FieldResolver, Mutation, Query, Resolver, Root } from "type-graphql";

import type { Context } from "../../graphql/context.js";
import { Actor } from "../../graphql/decorators.js";
import { PageArgs } from "../../graphql/pagination.js";
import { UUID } from "../../graphql/scalars.js";
import type { Principal } from "../../kernel/principal.js";
import { Role, type RoleLoaders } from "../roles/index.js";
import { UpdateMeInput, UpdateUserInput, UserFilter } from "./user.inputs.js";
import type { UserService } from "./user.service.js";
import { User, UserPage } from "./user.type.js";

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

  @Query(() => User, { description: "Needs users.read." })
  user(@Arg("id", () => UUID) id: string) {
    return this.service.get(id);
  }

  @Mutation(() => User, {
    description: "Needs users.update, and every permission the user holds. The last active admin cannot be disabled.",
  })
  updateUser(
    @Arg("id", () => UUID) id: string,
    @Arg("input", () => UpdateUserInput) input: UpdateUserInput,
    @Actor() actor: Principal,
  ) {
    return this.service.update(actor, id, input);
  }

  @Mutation(() => Boolean, {
    description: "Needs users.delete, and every permission the user holds. The last active admin cannot be deleted.",
  })
  deleteUser(@Arg("id", () => UUID) id: string, @Actor() actor: Principal) {
    return this.service.delete(actor, id);
  }

  @Mutation(() => User, { description: "Needs users.update, and every permission the role carries." })
  assignRole(
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Actor() actor: Principal,
  ) {
    return this.service.assignRole(actor, userId, roleId);
  }

  @Mutation(() => User, {
    description: "Needs users.update, every permission the role carries, and every permission the user holds.",
  })
  removeRole(
    @Arg("userId", () => UUID) userId: string,
    @Arg("roleId", () => UUID) roleId: string,
    @Actor() actor: Principal,
  ) {
    return this.service.removeRole(actor, userId, roleId);
  }

  @FieldResolver(() => [Role])
  roles(@Root() user: User, @Ctx() ctx: Context) {
    return this.loaders.of(ctx).rolesByUserId.load(user.id);
  }
}
