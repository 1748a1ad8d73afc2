import "reflect-metadata";
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema, type PubSub } from "type-graphql";
import { AuditResolver } from "../modules/audit/index.js";
import { AuthResolver } from "../modules/auth/index.js";
import { MfaResolver } from "../modules/mfa/index.js";
import { NotificationResolver } from "../modules/notifications/index.js";
import { OAuthResolver } from "../modules/oauth/index.js";
import { ReauthResolver } from "../modules/reauth/index.js";
import { MemberResolver, OrganizationResolver, OrganizationRoleResolver } from "../modules/organizations/index.js";
import { AccessResolver, PermissionResolver } from "../modules/permissions/index.js";
import { RoleResolver } from "../modules/roles/index.js";
import { SessionResolver } from "../modules/sessions/index.js";
import { UserResolver } from "../modules/users/index.js";

/**
 * TypeGraphQL wants a PubSub for subscriptions, but every Kafkey subscription opens its own stream in
 * `subscribe` (modules/notifications/live.ts), with its permission checks: topics are not used.
 */
const noTopics: PubSub = {
  publish(topic) {
    throw new Error(`subscription topics are not used (published to ${topic}): open streams in subscribe`);
  },
  subscribe(topic) {
    throw new Error(`subscription topics are not used (subscribed to ${topic}): open streams in subscribe`);
  },
};

/** The executable schema, without permissions (see shield.ts). */
export function buildGraphQLSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [
      AuthResolver,
      UserResolver,
      RoleResolver,
      PermissionResolver,
      AccessResolver,
      SessionResolver,
      MfaResolver,
      AuditResolver,
      OAuthResolver,
      ReauthResolver,
      OrganizationResolver,
      MemberResolver,
      OrganizationRoleResolver,
      NotificationResolver,
    ],
    validate: { forbidUnknownValues: false },
    pubSub: noTopics,
  });
}

/** The SDL committed as schema.graphql, sorted so that it only changes when the API does. */
export function printGraphQLSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + "\n";
}
