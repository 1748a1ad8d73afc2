import { Field, ObjectType } from "type-graphql";
import { DateTimeISOResolver } from "graphql-scalars";
import { UUID } from "../../graphql/scalars.js";
import { UserStatus } from "../users/index.js";

@ObjectType({
  description:
    "A non-human principal (a backend, a cron job, a pipeline): it holds roles like a user and acts only " +
    "through its API keys (createApiKey with serviceAccountId). It cannot sign in and owns no sessions.",
})
export class ServiceAccount {
  @Field(() => UUID, { description: "Its id: the userId it acts as, in the audit trail among others." })
  id!: string;

  @Field(() => String, { name: "name", description: "Its name." })
  displayName!: string;

  @Field(() => UUID, { nullable: true, description: "The organization that owns it; null: the platform's." })
  organizationId!: string | null;

  @Field(() => UserStatus)
  status!: UserStatus;

  @Field(() => DateTimeISOResolver)
  createdAt!: Date;
}
