import { GraphQLScalarType } from "graphql";
import { UUIDResolver } from "graphql-scalars";

/**
 * graphql-scalars' UUID, lower-cased on the way in: PostgreSQL reads `ABC…` and `abc…` as one id, but
 * cache keys, version counters and comparisons in code would not. Every id a client sends is canonical
 * from here on (headers and token claims are lower-cased where they are read).
 */
export const UUID = new GraphQLScalarType({
  ...UUIDResolver.toConfig(),
  parseValue: (value) => (UUIDResolver.parseValue(value) as string).toLowerCase(),
  parseLiteral: (ast, variables) => (UUIDResolver.parseLiteral(ast, variables) as string).toLowerCase(),
});
