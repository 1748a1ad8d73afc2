import type { ApolloServerPlugin } from "@apollo/server";
import {
  type ArgumentNode,
  type FragmentDefinitionNode,
  getNamedType,
  type GraphQLArgument,
  GraphQLError,
  type GraphQLInterfaceType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  isInterfaceType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { type KeyValueStore, StoreUnavailableError } from "../platform/kv/kv.js";
import { type Context } from "./context.js";
import { BadUserInputError, ErrorCode, type FieldProblem } from "../kernel/errors.js";
import { MAX_PAGE_SIZE } from "../kernel/paging.js";

/** Below this, a refused request's points are not given back (see queryBudgetPlugin). */
const GIVE_BACK_MIN_MS = 1000;

export interface QueryBudgetOptions {
  /** Points each caller may spend per window. */
  points: number;
  windowSeconds: number;
}

/** The size arguments that make a list field return many items. */
const SIZE_ARGUMENTS = new Set(["pageSize", "first", "last", "limit"]);

/** What an operation would cost, and the size arguments it asks for above MAX_PAGE_SIZE. */
export interface OperationCost {
  points: number;
  oversized: FieldProblem[];
}

type Parent = GraphQLObjectType | GraphQLInterfaceType | undefined;

function fieldsOf(type: GraphQLNamedType | null | undefined): Parent {
  return isObjectType(type) || isInterfaceType(type) ? type : undefined;
}

/**
 * An estimate of what an operation costs to answer: one point a field, with everything under a list
 * field that asks for N items counted N times; a list field left without its size argument asks for
 * the argument's default. Fragments count where they are spread.
 */
export function operationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: Record<string, FragmentDefinitionNode>,
  variables: Record<string, unknown> = {},
): OperationCost {
  const seen = new Set<string>();
  const oversized: FieldProblem[] = [];
  const sizeOf = (argument: GraphQLArgument, node: ArgumentNode | undefined): number => {
    if (!node) return typeof argument.defaultValue === "number" ? argument.defaultValue : NaN;
    if (node.value.kind === Kind.INT) return Number(node.value.value);
    if (node.value.kind !== Kind.VARIABLE) return NaN;
    const value = variables[node.value.name.value];
    // A variable left out takes the argument's default.
    return value === undefined && typeof argument.defaultValue === "number" ? argument.defaultValue : Number(value);
  };
  const cost = (selections: SelectionSetNode | undefined, parent: Parent): number => {
    let total = 0;
    for (const selection of selections?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        const field = parent?.getFields()[selection.name.value];
        let multiplier = 1;
        for (const argument of field?.args ?? []) {
          if (!SIZE_ARGUMENTS.has(argument.name)) continue;
          const value = sizeOf(
            argument,
            selection.arguments?.find((a) => a.name.value === argument.name),
          );
          if (value > MAX_PAGE_SIZE) {
            // Named as the resolver's own validation names it: the argument.
            oversized.push({ path: argument.name, message: `must not be greater than ${MAX_PAGE_SIZE}` });
          }
          if (Number.isFinite(value) && value > 1) multiplier = value;
        }
        total += 1 + multiplier * cost(selection.selectionSet, field && fieldsOf(getNamedType(field.type)));
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const condition = selection.typeCondition && schema.getType(selection.typeCondition.name.value);
        total += cost(selection.selectionSet, condition ? fieldsOf(condition) : parent);
      } else if (!seen.has(selection.name.value)) {
        // A fragment spread twice in one place is still resolved once per place: count each spread,
        // but never recurse into a fragment that (invalidly) spreads itself.
        seen.add(selection.name.value);
        const fragment = fragments[selection.name.value];
        total += cost(fragment?.selectionSet, fragment && fieldsOf(schema.getType(fragment.typeCondition.name.value)));
        seen.delete(selection.name.value);
      }
    }
    return total;
  };
  const points = cost(operation.selectionSet, fieldsOf(schema.getRootType(operation.operation)));
  return { points, oversized };
}

/**
 * Charges every operation its estimated cost against a budget per caller (the user when signed in,
 * the IP otherwise) in the shared store. Over budget: 429 RATE_LIMITED with `retryAfter`, nothing runs.
 * Without the store the budget is not charged: each operation is still bounded by the armor's cost,
 * depth and alias limits, and refusing every request would make a Redis outage a full one.
 */
export function queryBudgetPlugin(kv: KeyValueStore, options: QueryBudgetOptions): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, contextValue, schema }) {
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
          const { points, oversized } = operationCost(schema, operation, fragments, variables);
          // Refused as it stands, before anything is charged: such a request never runs.
          if (oversized.length > 0) throw new BadUserInputError(oversized, undefined, 400);
          const caller = contextValue.token ? `user:${contextValue.token.userId}` : `ip:${contextValue.client.ip}`;
          const key = `budget:${caller}`;
          let spent: { count: number; ttlMs: number };
          try {
            spent =
              points > options.points
                ? { count: points, ttlMs: (await kv.ttl(key)) ?? options.windowSeconds * 1000 }
                : await kv.increment(key, options.windowSeconds * 1000, points);
          } catch (error) {
            // Uncharged while the store is away (see above).
            if (error instanceof StoreUnavailableError) return;
            throw error;
          }
          if (spent.count > options.points) {
            // What is refused is not charged: given back, unless the window ends in a moment (the give-back
            // would then open a new window below zero).
            if (points <= options.points && spent.ttlMs > GIVE_BACK_MIN_MS)
              await kv.increment(key, spent.ttlMs, -points);
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
