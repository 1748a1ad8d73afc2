import { Field, InputType } from "type-graphql";
import { ArrayMaxSize, IsOptional, Length } from "class-validator";
import { UUID } from "../../graphql/scalars.js";
import { UserStatus } from "../users/index.js";

@InputType()
export class CreateServiceAccountInput {
  @Field(() => String, {
    description: "What it is, to recognise it in lists and the audit trail (1 to 100 characters)",
  })
  @Length(1, 100)
  name!: string;

  @Field(() => [UUID], {
    defaultValue: [],
    description: "Roles of its realm (the platform's, or its organization's) it holds from the start",
  })
  @ArrayMaxSize(50)
  roleIds!: string[];
}

@InputType()
export class UpdateServiceAccountInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @Length(1, 100)
  name?: string | null;

  @Field(() => [UUID], { nullable: true, description: "Replaces the roles it holds in its realm" })
  @IsOptional()
  @ArrayMaxSize(50)
  roleIds?: string[] | null;

  @Field(() => UserStatus, { nullable: true, description: "A disabled service account's keys stop working" })
  @IsOptional()
  status?: UserStatus | null;
}
