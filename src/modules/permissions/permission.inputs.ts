import { Field, InputType } from "type-graphql";
import { IsOptional, MaxLength } from "class-validator";

@InputType()
export class CreatePermissionInput {
  @Field(() => String, { description: "`resource.action`, lower-case; a last segment `*` makes a wildcard" })
  key!: string;

  @Field(() => String, { defaultValue: "" })
  @MaxLength(500)
  description!: string;
}

@InputType()
export class UpdatePermissionInput {
  @Field(() => String, { nullable: true, description: "Permissions of the built-in catalog keep their key" })
  @IsOptional()
  key?: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(500)
  description?: string;
}
