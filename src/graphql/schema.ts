import "reflect-metadata";
import { lexicographicSortSchema, printSchema, type GraphQLSchema } from "graphql";
import { buildSchema, type NonEmptyArray, type PubSub } from "type-graphql";
import type { Context } from "./context.js";
import { describePermissions } from "./decorators.js";

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

/**
 * The executable schema of `resolvers`, without permissions (see shield.ts), each field declared with
 * @Needs saying so in its description. Resolver instances come from each request's context
 * (`Context.container`).
 */
export async function buildGraphQLSchema(
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- TypeGraphQL's own type for resolver classes
  resolvers: NonEmptyArray<Function>,
): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers,
    container: ({ context }: { context: Context }) => context.container,
    validate: { forbidUnknownValues: false },
    pubSub: noTopics,
  });
  return describePermissions(schema);
}

/** The SDL committed as schema.graphql, sorted so that it only changes when the API does. */
export function printGraphQLSchema(schema: GraphQLSchema): string {
  return printSchema(lexicographicSortSchema(schema)) + "\n";
}
