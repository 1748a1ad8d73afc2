import { defaultFieldResolver, type GraphQLFieldResolver, type GraphQLSchema, isObjectType } from "graphql";
import { BadUserInputError, type FieldProblem } from "../kernel/errors.js";
import { isStorableDate } from "../kernel/paging.js";

/** A NUL (PostgreSQL text cannot hold one) or a lone UTF-16 surrogate (no UTF-8 can encode one). */
const UNSTORABLE = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function problemOf(value: unknown): string | undefined {
  if (typeof value === "string" && UNSTORABLE.test(value)) {
    return value.includes("\0") ? "contains a NUL character" : "is not well-formed Unicode (a lone surrogate)";
  }
  if (value instanceof Date && !isStorableDate(value)) return "is not a date between the years 1 and 9999";
  return undefined;
}

/**
 * What is wrong with a field's coerced arguments: every string, however deep in input objects, lists
 * and JSON values, and every date. Iterative: a JSON value may nest deeper than the stack goes.
 */
export function inputProblems(args: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const pending: [string, unknown][] = Object.entries(args);
  while (pending.length > 0) {
    const [path, value] = pending.pop()!;
    const problem = problemOf(value);
    if (problem) problems.push({ path, message: problem });
    else if (Array.isArray(value)) value.forEach((item, i) => pending.push([`${path}.${i}`, item]));
    else if (typeof value === "object" && value !== null && !(value instanceof Date)) {
      const prototype = Object.getPrototypeOf(value) as unknown;
      // Input objects and JSON values are plain objects; nothing else is walked.
      if (prototype === Object.prototype || prototype === null) {
        for (const [key, item] of Object.entries(value)) pending.push([`${path}.${key}`, item]);
      }
    }
  }
  return problems;
}

function guarded<T extends GraphQLFieldResolver<unknown, unknown>>(resolve: T): T {
  return ((source, args: Record<string, unknown>, context, info) => {
    const problems = inputProblems(args);
    if (problems.length > 0) throw new BadUserInputError(problems);
    return resolve(source, args, context, info);
  }) as T;
}

/**
 * Refuses, with BAD_USER_INPUT, any argument a store could not keep (see `inputProblems`), in one place
 * for every field, over HTTP and WebSocket alike: before the field's permission rule and resolver (a
 * subscription's before its stream opens). Only fields with arguments are wrapped: the rest cost
 * nothing. Wrap the schema last, so that this runs first.
 */
export function checkInputs(schema: GraphQLSchema): GraphQLSchema {
  const subscription = schema.getSubscriptionType();
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || type.name.startsWith("__")) continue;
    for (const field of Object.values(type.getFields())) {
      if (field.args.length === 0) continue;
      if (type === subscription && field.subscribe) field.subscribe = guarded(field.subscribe);
      else field.resolve = guarded(field.resolve ?? defaultFieldResolver);
    }
  }
  return schema;
}
