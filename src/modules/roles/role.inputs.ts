import { Field, InputType } from "type-graphql";

import { ArrayMaxSize, IsOptional, Matches, MaxLength } from "class-validator";
import { UUID } from "../../graphql/scalars.js";

const ROLE_NAME = /^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/;
const ROLE_NAME_MESSAGE = "must be 1 to 64 letters, digits, spaces or _.:- and start with a letter or digit";
const UNIQUE_NAME = "Unique among the platform's roles, or the organization's, whatever its case; stored trimmed";

@InputType()
export class CreateRoleInput {
  @Field(() => String, { description: UNIQUE_NAME })
  @Matches(ROLE_NAME, { message: ROLE_NAME_MESSAGE })
  name!: string;

  @Field(() => String, { defaultValue: "" })
  @MaxLength(500)
  description!: string;

  @Field(() => [UUID], { defaultValue: [], description: "The caller must hold each of them" })
  @ArrayMaxSize(1000)
  permissionIds!: string[];
}

@InputType()
export class UpdateRoleInput {
  @Field(() => String, { nullable: true, description: `${UNIQUE_NAME}. System roles keep their name` })
  @IsOptional()
  @Matches(ROLE_NAME, { message: ROLE_NAME_MESSAGE })
  name?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(500)
  description?: string;
}
