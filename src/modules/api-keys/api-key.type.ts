import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { UUID } from "../../graphql/scalars.js";

@ObjectType({
  description:
    "An API key (personal access token): used as `Authorization: Bearer kfk_…`, it acts as its owner with " +
    "at most its permissions. Its secret is shown once, by createApiKey.",
})
export class ApiKey {
  @Field(() => UUID)
  id!: string;

  @Field(() => String)
  name!: string;

  @Field(() => String, { description: "`kfk_` and the secret's next 8 characters: to recognise it, not to use it." })
  prefix!: string;

  @Field(() => [String], { description: "What it may do, never more than its owner holds at the time of use." })
  permissions!: string[];

  @Field(() => UUID, { nullable: true, description: "The one organization it acts in; null: the platform." })
  organizationId!: string | null;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;

  @Field(() => DateTimeISOResolver, { nullable: true, description: "Its last use, to the minute." })
  lastUsedAt!: Date | null;

  @Field(() => DateTimeISOResolver)
  expiresAt!: Date;
}

@ObjectType({ description: "A new API key and its secret." })
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, { description: "The secret: shown this once, stored only as a hash. Keep it like a password." })
  secret!: string;
}
