/**
 * GraphQL Code Generator for a Kafkey client (docs/clients.md): TypeScript types of the schema and of
 * the app's operations. `strictScalars` makes generation fail on a custom scalar nobody mapped, instead
 * of typing it `any`; KAFKEY_SCALARS maps each of Kafkey's as it travels in JSON. In an app, point
 * `schema` at a copy of Kafkey's schema.graphql (introspection is off in production), `documents` at
 * the app's operations and `generates` at a file of its own; then `npx graphql-codegen`.
 */
import type { CodegenConfig } from "@graphql-codegen/cli";

/** Kafkey's custom scalars (`grep '^scalar' schema.graphql`), as their JSON values arrive and are sent. */
export const KAFKEY_SCALARS = {
  /** A UUID in its canonical text form. */
  UUID: "string",
  /** An ISO 8601 instant, `2026-12-01T10:00:00.000Z`: parse it with `new Date(…)` where needed. */
  DateTimeISO: "string",
  /** Any JSON value (an audit change's before and after). */
  JSON: "unknown",
} as const;

const config: CodegenConfig = {
  schema: "schema.graphql",
  documents: "docs/clients/operations.graphql",
  generates: {
    "scratch/kafkey-graphql.ts": {
      plugins: ["typescript", "typescript-operations"],
      config: { strictScalars: true, scalars: KAFKEY_SCALARS, enumsAsTypes: true, useTypeImports: true },
    },
  },
};

export default config;
