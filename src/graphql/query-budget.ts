import type { ApolloServerPlugin } from "@apollo/server";
import {
  GraphQLError,
  Kind,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { KeyValueStore } from "../platform/kv/kv.js";
import type { Context } from "./context.js";
import { ErrorCode } from "./errors.js";

export interface QueryBudgetOptions {
  /** Points each caller may spend per window. */
  points: number;
  windowSeconds: number;
}

/** The size arguments that make a list field return many items. */
const SIZE_ARGUMENTS = new Set(["pageSize", "first", "last", "limit"]);

/**
 * An estimate of what an operation costs to answer: one point a field, with everything under a list
 * field that asks for N items counted N times. Fragments count where they are spread.
 */
export function operationCost(
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown> = {},
): number {
  const seen = new Set<string>();
  const cost = (selections: SelectionSetNode | undefined): number => {
    let total = 0;
    for (const selection of selections?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        let multiplier = 1;
        for (const arg of selection.arguments ?? []) {
          if (!SIZE_ARGUMENTS.has(arg.name.value)) continue;
          const value =
            arg.value.kind === Kind.INT
              ? Number(arg.value.value)
              : arg.value.kind === Kind.VARIABLE
                ? Number(variables[arg.value.name.value])
                : NaN;
          if (Number.isFinite(value) && value > 1) multiplier = value;
        }
        total += 1 + multiplier * cost(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += cost(selection.selectionSet);
      } else if (!seen.has(selection.name.value)) {
        // A fragment spread twice in one place is still resolved once per place: count each spread,
        // but never recurse into a fragment that (invalidly) spreads itself.
        seen.add(selection.name.value);
        total += cost(fragments[selection.name.value]?.selectionSet);
        seen.delete(selection.name.value);
      }
    }
    return total;
  };
  return cost(operation.selectionSet);
}

/**
 * Charges every operation its estimated cost against a budget per caller (the user when signed in,
 * the IP otherwise) in the shared store. Over budget: 429 RATE_LIMITED with `retryAfter`, nothing runs.
 */
export function queryBudgetPlugin(kv: KeyValueStore, options: QueryBudgetOptions): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, contextValue }) {
          if (!operation) return;
          const fragments = Object.fromEntries(
            document.definitions
              .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
              .map((d) => [d.name.value, d]),
          );
          // Variables the request leaves out take their declared defaults.
          const variables: Record<string, unknown> = { ...request.variables };
          for (const definition of operation.variableDefinitions ?? []) {
            const name = definition.variable.name.value;
            if (variables[name] === undefined && definition.defaultValue?.kind === Kind.INT) {
              variables[name] = Number(definition.defaultValue.value);
            }
          }
          const points = operationCost(operation, fragments, variables);
          const caller = contextValue.token ? `user:${contextValue.token.userId}` : `ip:${contextValue.client.ip}`;
          const spent = await kv.increment(`budget:${caller}`, options.windowSeconds * 1000, points);
          if (spent.count > options.points) {
            const retryAfter = Math.max(1, Math.ceil(spent.ttlMs / 1000));
            throw new GraphQLError(`Query budget of ${options.points} points per ${options.windowSeconds} s spent`, {
              extensions: { code: ErrorCode.RATE_LIMITED, retryAfter, cost: points, http: { status: 429 } },
            });
          }
        },
      };
    },
  };
}
