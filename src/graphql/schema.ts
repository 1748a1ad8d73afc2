import "reflect-metadata";
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema } from "type-graphql";
import { AuditResolver } from "../modules/audit/index.js";
import { AuthResolver } from "../modules/auth/index.js";
import { MfaResolver } from "../modules/mfa/index.js";
import { OAuthResolver } from "../modules/oauth/index.js";
import { MemberResolver, OrganizationResolver, OrganizationRoleResolver } from "../modules/organizations/index.js";
import { AccessResolver, PermissionResolver } from "../modules/permissions/index.js";
import { RoleResolver } from "../modules/roles/index.js";
import { SessionResolver } from "../modules/sessions/index.js";
import { UserResolver } from "../modules/users/index.js";

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
      OrganizationResolver,
      MemberResolver,
      OrganizationRoleResolver,
    ],
    validate: { forbidUnknownValues: false },
  });
}

/** The SDL committed as schema.graphql, sorted so that it only changes when the API does. */
export function printGraphQLSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + "\n";
}
