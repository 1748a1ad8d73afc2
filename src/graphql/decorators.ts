import { type GraphQLField, type GraphQLSchema, isObjectType } from "graphql";
import { createParameterDecorator, Extensions } from "type-graphql";
import type { CatalogPermission, OrganizationPermission } from "../kernel/permission-catalog.js";
import type { Principal } from "../kernel/principal.js";
import type { Tenant } from "../kernel/request.js";
import { actorOf, type Context } from "./context.js";
import { UUID } from "./scalars.js";

/** The signed-in caller (`Principal`) of a field whose rule already required one. */
export function Actor() {
  return createParameterDecorator<Context>(({ context }): Promise<Principal> => actorOf(context));
}

/**
 * The organization the field acts in, with a client scoped to it (`Tenant`): the `organizationId`
 * argument this declares, else the active organization. NOT_FOUND when the caller may not act there.
 */
export function InTenant() {
  return createParameterDecorator<Context>(
    ({ context, args }): Promise<Tenant> => context.tenant(args.organizationId as string | undefined),
    {
      arg: {
        name: "organizationId",
        typeFunc: () => UUID,
        options: {
          nullable: true,
          description: "The active organization when omitted. Membership counts only in the active organization.",
        },
      },
    },
  );
}

/**
 * The one permission a field needs, as @Needs and @NeedsInOrganization declare it in the field's
 * extensions (`extensions.permission`). From it come the field's shield rule (shield.ts), the end of
 * its description, README's permission table and test/authorization.test.ts's matrix.
 */
export type FieldPermission = {
  /** What the description adds after the key: "Needs users.update, and {and}." */
  and?: string;
} & (
  | { key: CatalogPermission; in: "platform" }
  /** Checked in the organization of the `organizationId` argument, else the active one. */
  | { key: OrganizationPermission; in: "organization" }
);

export interface NeedsOptions {
  /** The rest of the description's "Needs …" sentence: what the service checks on top, in words. */
  and?: string;
}

/**
 * The field needs platform permission `key` (through a platform role; a wildcard counts), and nothing
 * else of the shield: a field with a composed rule keeps it in its module's `*.rules.ts` instead.
 */
export function Needs(key: CatalogPermission, options: NeedsOptions = {}) {
  const permission: FieldPermission = { key, in: "platform", ...options };
  return Extensions({ permission });
}

/**
 * The field needs organization permission `key` in the organization it acts in: its
 * `organizationId` argument (which @InTenant() declares), else the request's active organization.
 */
export function NeedsInOrganization(key: OrganizationPermission, options: NeedsOptions = {}) {
  const permission: FieldPermission = { key, in: "organization", ...options };
  return Extensions({ permission });
}

/** The permission a field of the schema was declared with, if any. */
function permissionOf(field: GraphQLField<unknown, unknown>): FieldPermission | undefined {
  return (field.extensions as { permission?: FieldPermission }).permission;
}

/** Every field of `schema` declared with @Needs or @NeedsInOrganization, in the schema's order. */
export function declaredPermissions(
  schema: GraphQLSchema,
): { type: string; field: GraphQLField<unknown, unknown>; permission: FieldPermission }[] {
  return Object.values(schema.getTypeMap())
    .filter(isObjectType)
    .flatMap((type) =>
      Object.values(type.getFields()).flatMap((field) => {
        const permission = permissionOf(field);
        return permission ? [{ type: type.name, field, permission }] : [];
      }),
    );
}

/** The sentence a declared permission ends its field's description with: "Needs users.update." */
function needsSentence(permission: FieldPermission): string {
  return `Needs ${permission.key}${permission.and ? `, and ${permission.and}` : ""}.`;
}

/**
 * Ends the description of every field declared with a permission with what it needs, so that the
 * schema says it and the code declares it once. Called on the built schema, before anything reads it.
 */
export function describePermissions(schema: GraphQLSchema): GraphQLSchema {
  for (const { field, permission } of declaredPermissions(schema)) {
    // "Needs users.read" in the hand-written part would be a second, drifting, statement of it.
    if (/\bNeeds [a-z*]+\.[a-z.*]+/.test(field.description ?? "")) {
      throw new Error(`${field.name}'s description restates what it needs: @Needs writes that sentence`);
    }
    // graphql-js keeps a built field's description as a plain property; printSchema reads it from here.
    field.description = field.description
      ? `${field.description} ${needsSentence(permission)}`
      : needsSentence(permission);
  }
  return schema;
}
