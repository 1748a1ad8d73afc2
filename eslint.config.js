import js from "@eslint/js";
import tseslint from "typescript-eslint";

// Layers import downward only (docs/walkthrough.md): the composition root (main, app, services, api) ←
// modules' GraphQL faces (resolvers, rules, types, inputs) ← modules' services ← graphql/ ← kernel/ ←
// platform/ ← config. no-restricted-imports matches the import string, not the file it names, so
// each pattern covers every relative depth; test/layering.test.ts proves each one still matches.
const relative = String.raw`^\.\.?/(?:\.\./)*(?:.*/)?`;
const into = (dir, message) => ({ regex: `${relative}${dir}/`, message });
const root = {
  regex: `${relative}(?:app|services|api|main)\\.js$`,
  message: "Only the composition root (main, app, services, api) builds from the whole app; nothing imports it.",
};
const modules = into(
  "modules",
  "graphql/, kernel/ and platform/ never import modules/: they are handed what they need.",
);
const graphql = into("graphql", "Services never import graphql/: they take plain values and throw kernel/ errors.");
const kernel = into("kernel", "platform/ knows nothing of users or permissions: it never imports kernel/.");
const layer = (files, patterns, ignores = []) => ({
  files,
  ignores,
  rules: { "no-restricted-imports": ["error", { patterns }] },
});
const faces = ["src/modules/**/*.{resolver,rules,type,inputs}.ts", "src/modules/**/index.ts"];

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "src/generated/", "coverage/", ".data/", "scratch/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { console: "readonly", process: "readonly", Buffer: "readonly" } },
    rules: {
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "Use named exports." },
        {
          selector: "NewExpression[callee.name='ConflictError'][arguments.1.type=/^(Literal|TemplateLiteral)$/]",
          message:
            "A CONFLICT reason comes from its module's registry (<module>.errors.ts), not a string written here.",
        },
      ],
    },
  },
  layer(["src/platform/**/*.ts"], [root, modules, graphql, kernel]),
  layer(["src/kernel/**/*.ts"], [root, modules, graphql]),
  layer(["src/graphql/**/*.ts"], [root, modules]),
  layer(["src/modules/**/*.ts"], [root, graphql], faces),
  layer(faces, [root]),
  {
    // Tests read arbitrary JSON responses; their assertions, not types, check the shapes.
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
  {
    // Tools that load these files ask for a default export; declarations describe others' modules.
    files: ["eslint.config.js", "prisma.config.ts", "vitest.config.ts", "codegen.ts", "**/*.d.ts"],
    rules: { "no-restricted-syntax": "off" },
  },
);
