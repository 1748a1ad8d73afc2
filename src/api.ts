import type { GraphQLSchema } from "graphql";
import { allow, type IRules } from "graphql-shield";
import type { NonEmptyArray } from "type-graphql";
import { Instances } from "./graphql/container.js";
import type { FieldRateLimiter } from "./graphql/rate-limit.js";
import { declaredRules, mergeRules } from "./graphql/shield.js";
import { ApiKeyResolver, apiKeyRules, withSessionOnly } from "./modules/api-keys/index.js";
import { AuditResolver, auditRules } from "./modules/audit/index.js";
import { AuthResolver, authRules } from "./modules/auth/index.js";
import { KeyResolver, keyRules } from "./modules/keys/index.js";
import { MfaResolver, mfaRules } from "./modules/mfa/index.js";
import { NotificationResolver, notificationRules } from "./modules/notifications/index.js";
import { OAuthResolver, oauthRules } from "./modules/oauth/index.js";
import { PasskeyResolver, passkeyRules } from "./modules/passkeys/index.js";
import {
  MemberResolver,
  OrganizationResolver,
  OrganizationRoleResolver,
  organizationRules,
} from "./modules/organizations/index.js";
import {
  AccessResolver,
  accessRules,
  declaredPermissionRules,
  PermissionResolver,
  permissionRules,
} from "./modules/permissions/index.js";
import { ReauthResolver, reauthRules, withReauthentication } from "./modules/reauth/index.js";
import { RoleResolver, roleRules } from "./modules/roles/index.js";
import { ServiceAccountResolver, serviceAccountRules } from "./modules/service-accounts/index.js";
import { SessionResolver, sessionRules } from "./modules/sessions/index.js";
import { SignInCodeResolver, signInCodeRules } from "./modules/sign-in-codes/index.js";
import { UserResolver, userRules } from "./modules/users/index.js";
import type { Services } from "./services.js";

/** Every module's resolvers: the GraphQL API, handed to graphql/schema.ts. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeGraphQL's own type for resolver classes
export const RESOLVERS: NonEmptyArray<Function> = [
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
  KeyResolver,
  ApiKeyResolver,
  ServiceAccountResolver,
  PasskeyResolver,
  SignInCodeResolver,
];

/**
 * Every field's rule of `schema` (built from RESOLVERS): the one permission a field declares on itself
 * (@Needs, @NeedsInOrganization), or its composed rule in its module's `*.rules.ts`, never both. A
 * field without one is denied. Credential mutations also need recent re-authentication (the list in
 * src/modules/reauth); what needs a session (every mutation without a declared permission) refuses API keys
 * (src/modules/api-keys).
 */
export function rulesFor(schema: GraphQLSchema): IRules {
  return withSessionOnly(
    withReauthentication(
      mergeRules(
        declaredRules(schema, declaredPermissionRules),
        authRules,
        userRules,
        roleRules,
        permissionRules,
        accessRules,
        sessionRules,
        mfaRules,
        auditRules,
        oauthRules,
        organizationRules,
        notificationRules,
        keyRules,
        reauthRules,
        apiKeyRules,
        serviceAccountRules,
        passkeyRules,
        signInCodeRules,
        { PageInfo: { "*": allow } },
      ),
    ),
    schema,
  );
}

/** One app's resolver instances, built on its services, and what rules ask for (services, the limiter). */
export function resolverInstances(services: Services, limiter: FieldRateLimiter): Instances {
  const s = services;
  return new Instances([
    new AuthResolver(s.auth, s.accountEmail),
    new UserResolver(s.users, s.roleLoaders),
    new RoleResolver(s.roles, s.roleLoaders),
    new PermissionResolver(s.permissions),
    new AccessResolver(s.access),
    new SessionResolver(s.sessions),
    new MfaResolver(s.mfa),
    new AuditResolver(s.audit),
    new OAuthResolver(s.oauth),
    new ReauthResolver(s.reauth),
    new OrganizationResolver(s.organizations),
    new MemberResolver(s.members, s.roleLoaders),
    new OrganizationRoleResolver(s.roles),
    new NotificationResolver(s.notifications),
    new KeyResolver(s.signingKeys),
    new ApiKeyResolver(s.apiKeys),
    new ServiceAccountResolver(s.serviceAccounts, s.roles, s.roleLoaders),
    new PasskeyResolver(s.passkeys),
    new SignInCodeResolver(s.signInCodes),
    s.reauth,
    s.notifications,
    limiter,
  ]);
}
