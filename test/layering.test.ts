import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint();

/** The layering errors ESLint reports for `source` written at `filePath`, with the repository's config. */
async function refusals(filePath: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

// Each case: a file of one layer importing upward, as the import string would be written there.
const upward: [layer: string, filePath: string, importLine: string][] = [
  ["graphql/ importing a module", "src/graphql/fixture.ts", 'import "../modules/users/index.js";'],
  ["graphql/ importing the composition root", "src/graphql/fixture.ts", 'import "../services.js";'],
  ["a service importing graphql/", "src/modules/users/fixture.service.ts", 'import "../../graphql/context.js";'],
  ["a service importing the composition root", "src/modules/users/fixture.service.ts", 'import "../../app.js";'],
  ["a resolver importing the composition root", "src/modules/users/fixture.resolver.ts", 'import "../../api.js";'],
  ["kernel/ importing graphql/", "src/kernel/fixture.ts", 'import "../graphql/errors.js";'],
  ["kernel/ importing a module", "src/kernel/fixture.ts", 'import "../modules/roles/index.js";'],
  ["platform/ importing kernel/", "src/platform/db/fixture.ts", 'import "../../kernel/principal.js";'],
  ["platform/ importing a module", "src/platform/fixture.ts", 'import "../modules/auth/index.js";'],
  [
    "platform/ importing graphql/",
    "src/platform/kv/fixture.ts",
    'import type { Context } from "../../graphql/context.js";',
  ],
];

// And imports that go downward, which must stay allowed (a rule that refuses everything is no rule).
const downward: [layer: string, filePath: string, importLine: string][] = [
  ["a resolver importing graphql/", "src/modules/users/fixture.resolver.ts", 'import "../../graphql/decorators.js";'],
  ["a service importing kernel/", "src/modules/users/fixture.service.ts", 'import "../../kernel/errors.js";'],
  ["a service importing another module", "src/modules/users/fixture.service.ts", 'import "../roles/index.js";'],
  ["graphql/ importing kernel/", "src/graphql/fixture.ts", 'import "../kernel/principal.js";'],
  ["graphql/ importing the graphql package", "src/graphql/fixture.ts", 'import "graphql";'],
  ["app.ts importing services", "src/app.ts", 'import "./services.js";'],
];

describe("the layering lint rule", () => {
  it.each(upward)("refuses %s", async (_layer, filePath, importLine) => {
    expect(await refusals(filePath, `${importLine}\n`)).toHaveLength(1);
  });

  it.each(downward)("allows %s", async (_layer, filePath, importLine) => {
    expect(await refusals(filePath, `${importLine}\n`)).toEqual([]);
  });
});

describe("the CONFLICT reason lint rule", () => {
  it("refuses a reason written as a string instead of its registry's constant", async () => {
    const [result] = await eslint.lintText(
      'import { ConflictError } from "../../kernel/errors.js";\nthrow new ConflictError("Taken", "SLUG_TAKEN");\n',
      { filePath: "src/modules/organizations/fixture.service.ts" },
    );
    expect(result!.messages.map((m) => m.ruleId)).toContain("no-restricted-syntax");
  });
});
