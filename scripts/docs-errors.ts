// docs/api.md's list of every code and reason a client can see, for scripts/docs.ts: read from the
// registries themselves (kernel's ErrorCode with the HTTP-level codes it includes, SHARED_CONFLICTS,
// every `src/modules/*/*.errors.ts`, and the WebSocket close codes), so that a code added there is
// documented, or docs:check fails.
// The values come from importing each file; their descriptions from its JSDoc, read with TypeScript's
// parser (an entry's comment, `@status` for the HTTP status, `@extensions` for the fields it adds).
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { cell, table } from "./markdown.js";

const root = path.resolve(import.meta.dirname, "..");

/** Where kernel's ErrorCode and the HTTP-level codes it spreads in are declared. */
const KERNEL_ERRORS = "src/kernel/errors.ts";
const HTTP_CODES = "src/platform/http/error-codes.ts";
/** Where the WebSocket close codes a subscriber can see are declared. */
const CLOSE_CODES = "src/graphql/live.ts";

/** The registry files of the modules: `src/modules/<m>/<m>.errors.ts` and any other `*.errors.ts` there. */
function moduleErrorFiles(): string[] {
  const modules = path.join(root, "src/modules");
  return fs
    .readdirSync(modules, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((dir) =>
      fs
        .readdirSync(path.join(modules, dir.name))
        .filter((name) => name.endsWith(".errors.ts"))
        .map((name) => `src/modules/${dir.name}/${name}`),
    )
    .sort();
}

interface Doc {
  description: string;
  tags: Map<string, string>;
}

/** An `export const X = { ... } as const` of a source file, as written. */
interface Declared {
  file: string;
  doc: Doc;
  /** Its own entries' documentation, by key. */
  own: Map<string, Doc>;
  /** The names of the registries spread into it (`...HttpErrorCode`). */
  spreads: string[];
}

/** A registry as a client meets it: its values in order, each with its documentation. */
export interface Registry {
  name: string;
  file: string;
  doc: Doc;
  entries: { value: string; doc: Doc; spreadFrom?: string }[];
}

function docOf(node: ts.Node): Doc {
  const jsdoc = ts.getJSDocCommentsAndTags(node).filter(ts.isJSDoc).at(-1);
  const tags = new Map<string, string>();
  for (const tag of jsdoc?.tags ?? []) tags.set(tag.tagName.text, ts.getTextOfJSDocComment(tag.comment)?.trim() ?? "");
  return { description: ts.getTextOfJSDocComment(jsdoc?.comment)?.trim() ?? "", tags };
}

/** `{ ... } as const`, `{ ... } as const satisfies T`: the object literal inside. */
function objectLiteral(expression: ts.Expression | undefined): ts.ObjectLiteralExpression | undefined {
  let node = expression;
  while (node && (ts.isAsExpression(node) || ts.isSatisfiesExpression(node) || ts.isParenthesizedExpression(node))) {
    node = node.expression;
  }
  return node && ts.isObjectLiteralExpression(node) ? node : undefined;
}

function declaredIn(file: string): Map<string, Declared> {
  const source = ts.createSourceFile(
    file,
    fs.readFileSync(path.join(root, file), "utf8"),
    ts.ScriptTarget.Latest,
    true,
  );
  const found = new Map<string, Declared>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    if (!statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    for (const declaration of statement.declarationList.declarations) {
      const literal = objectLiteral(declaration.initializer);
      if (!literal || !ts.isIdentifier(declaration.name)) continue;
      const own = new Map<string, Doc>();
      const spreads: string[] = [];
      for (const property of literal.properties) {
        if (ts.isSpreadAssignment(property) && ts.isIdentifier(property.expression)) {
          spreads.push(property.expression.text);
        } else if (
          ts.isPropertyAssignment(property) &&
          (ts.isIdentifier(property.name) || ts.isStringLiteral(property.name))
        ) {
          own.set(property.name.text, docOf(property));
        }
      }
      found.set(declaration.name.text, { file, doc: docOf(statement), own, spreads });
    }
  }
  return found;
}

/** A `{ KEY: "KEY", ... }` object: what a registry is at run time. */
function isRegistry(value: unknown): value is Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return entries.length > 0 && entries.every(([key, v]) => v === key);
}

/**
 * Every registry of `files`, in file order, each entry documented; throws for an entry without a
 * description (or an ErrorCode without its `@status`), naming it.
 */
async function registriesOf(files: string[]): Promise<Registry[]> {
  const declared = new Map<string, Declared>();
  for (const file of files) for (const [name, d] of declaredIn(file)) declared.set(name, d);
  const registries: Registry[] = [];
  for (const file of files) {
    const exports = (await import(pathToFileURL(path.join(root, file)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exports)) {
      if (!isRegistry(value)) continue;
      const source = declared.get(name);
      if (!source || source.file !== file)
        throw new Error(`${file}: ${name} is not declared as an object literal there`);
      // In the order written, a registry's own entries before those it spreads in.
      const declaredOrder = (code: string) => {
        const index = [...source.own.keys()].indexOf(code);
        return index < 0 ? Number.MAX_SAFE_INTEGER : index;
      };
      const values = Object.values(value).sort((a, b) => declaredOrder(a) - declaredOrder(b));
      const entries = values.map((code) => {
        const own = source.own.get(code);
        const spreadFrom = own ? undefined : source.spreads.find((s) => declared.get(s)?.own.has(code));
        const doc = own ?? (spreadFrom ? declared.get(spreadFrom)!.own.get(code) : undefined);
        if (!doc?.description) throw new Error(`${file}: ${name}.${code} has no description (a JSDoc comment)`);
        return { value: code, doc, spreadFrom };
      });
      registries.push({ name, file, doc: source.doc, entries });
    }
  }
  return registries;
}

const code = (value: string) => `\`${value}\``;
/** "A method …" as it reads after a colon; "JSON …" and "`x` …" as they are. */
const lowerFirst = (text: string) => (/^[A-Z](?:[a-z]| )/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text);
const moduleOf = (file: string) => /^src\/modules\/([^/]+)\//.exec(file)?.[1];

/** The generated part of docs/api.md's "Errors" section (its placeholder line in docs/api.examples.md). */
export const ERRORS_PLACEHOLDER =
  "<!-- error-codes: generated here from src/kernel/errors.ts, src/platform/http/error-codes.ts and src/modules/*/*.errors.ts -->";

export async function errorCodesSection(): Promise<string> {
  const modules = await registriesOf(moduleErrorFiles());
  const kernel = await registriesOf([HTTP_CODES, KERNEL_ERRORS]);
  const errorCode = kernel.find((r) => r.name === "ErrorCode" && r.file === KERNEL_ERRORS);
  const httpCode = kernel.find((r) => r.name === "HttpErrorCode" && r.file === HTTP_CODES);
  if (!errorCode || !httpCode)
    throw new Error(`${KERNEL_ERRORS} and ${HTTP_CODES} must export ErrorCode and HttpErrorCode`);
  const missing = httpCode.entries.filter((h) => !errorCode.entries.some((e) => e.value === h.value));
  if (missing.length)
    throw new Error(`ErrorCode must include every HttpErrorCode (${missing.map((m) => m.value).join(", ")})`);
  // A code kernel/errors.ts declares itself is a GraphQL error's (INVALID_STATE says otherwise in its
  // text); the HTTP-level ones follow. A code may be both (NOT_FOUND): a row for each.
  const graphqlCodes = errorCode.entries.filter((e) => !e.spreadFrom);
  for (const [registry, entries] of [
    [errorCode, graphqlCodes],
    [httpCode, httpCode.entries],
  ] as const) {
    for (const { value, doc } of entries) {
      if (!doc.tags.get("status")) throw new Error(`${registry.file}: ${registry.name}.${value} has no @status`);
    }
  }
  const row = (value: string, doc: Doc, when: string) => [
    code(value),
    cell(doc.tags.get("status")),
    cell(when),
    cell(doc.tags.get("extensions")),
  ];
  const rows = [
    ...graphqlCodes.map(({ value, doc }) => row(value, doc, doc.description)),
    ...httpCode.entries.map(({ value, doc }) =>
      row(value, doc, `Before or outside GraphQL: ${lowerFirst(doc.description)}`),
    ),
  ];

  const conflicts = [...kernel, ...modules].filter((r) => r.name.endsWith("_CONFLICTS"));
  const seen = new Map<string, string>();
  for (const registry of conflicts) {
    for (const { value } of registry.entries) {
      const before = seen.get(value);
      if (before) throw new Error(`CONFLICT reason ${value} is declared twice: ${before} and ${registry.name}`);
      seen.set(value, registry.name);
    }
  }
  const reasons = conflicts.flatMap((registry) =>
    registry.entries.map(({ value, doc }) => [
      code(value),
      moduleOf(registry.file) ?? "any",
      `[${code(registry.name)}](../${registry.file})`,
      cell(doc.description),
    ]),
  );

  const moduleCodes = modules
    .filter((r) => !r.name.endsWith("_CONFLICTS"))
    .flatMap((registry) => [
      `### ${code(registry.name)}`,
      `${cell(registry.doc.description)} Declared in [${code(registry.file)}](../${registry.file}) (module ${moduleOf(registry.file)}).`,
      table(
        ["Code", "Meaning"],
        registry.entries.map(({ value, doc }) => [code(value), cell(doc.description)]),
      ),
    ]);

  const { CloseCode } = (await import(pathToFileURL(path.join(root, CLOSE_CODES)).href)) as {
    CloseCode: Record<string, number>;
  };
  const closeDocs = declaredIn(CLOSE_CODES).get("CloseCode");
  if (!closeDocs) throw new Error(`${CLOSE_CODES} must export CloseCode`);
  const closeRows = Object.entries(CloseCode).map(([name, value]) => {
    const doc = closeDocs.own.get(name);
    if (!doc?.description) throw new Error(`${CLOSE_CODES}: CloseCode.${name} has no description`);
    return [code(String(value)), code(name), cell(doc.description)];
  });

  return [
    "### Codes",
    `Every \`extensions.code\` a client can see, from \`ErrorCode\` ([${code(KERNEL_ERRORS)}](../${KERNEL_ERRORS}), with the HTTP-level ones of [${code(HTTP_CODES)}](../${HTTP_CODES})):`,
    table(["Code", "HTTP status", "When", "Extra fields in `extensions`"], rows),
    "### Reasons of `CONFLICT`",
    "Each module declares its own in its `*.errors.ts`; a reason shared by several modules is declared once, by the module that owns the concept, and `SHARED_CONFLICTS` holds those of no module:",
    table(["`reason`", "Module", "Registry", "Meaning"], reasons),
    ...moduleCodes,
    "### WebSocket close codes",
    `${cell(closeDocs.doc.description)} Declared in [${code(CLOSE_CODES)}](../${CLOSE_CODES}).`,
    table(["Code", "Name", "Meaning"], closeRows),
  ].join("\n\n");
}
