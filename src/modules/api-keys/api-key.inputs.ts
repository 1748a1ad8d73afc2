import { Field, InputType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { ArrayMaxSize, IsOptional, Length } from "class-validator";
import { UUID } from "../../graphql/scalars.js";

@InputType()
export class CreateApiKeyInput {
  @Field(() => String, { description: "What it is for, to recognise it in lists (1 to 100 characters)" })
  @Length(1, 100)
  name!: string;

  @Field(() => [String], {
    description: "Permission keys (wildcards too), each one the caller holds now (in the organization, if given)",
  })
  @ArrayMaxSize(100)
  permissions!: string[];

  @Field(() => DateTimeISOResolver, {
    description: "When it stops working: in the future, within KAFKEY_API_KEY_MAX_LIFETIME_DAYS",
  })
  expiresAt!: Date;

  @Field(() => UUID, { nullable: true, description: "Binds it to this organization: it acts in no other" })
  @IsOptional()
  organizationId?: string | null;

  @Field(() => UUID, {
    nullable: true,
    description:
      "Makes it a key of this service account (one the caller manages, holding nothing the caller does not): " +
      "it acts as the account, with at most the account's permissions, where the account belongs",
  })
  @IsOptional()
  serviceAccountId?: string | null;
}
