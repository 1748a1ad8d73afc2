/**
 * Finds import cycles among the files of `src/`, type-only imports counted: they tie files together
 * for a reader as much as any other. Run by `npm test`; exits 1 and prints each cycle when one exists.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/** Every `.ts` file under `dir`, generated code left out (it imports nothing of ours). */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "generated" ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** The files of ours that `file` imports or re-exports, however it does so. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((specifier) => specifier.startsWith("."))
    .map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, ".ts")))
    .map((path) => (existsSync(path) ? path : join(path.replace(/\.ts$/, ""), "index.ts")))
    .filter((path) => existsSync(path));
}

/** Tarjan's strongly connected components with more than one file, or a file importing itself. */
export function importCycles(root: string): string[][] {
  const files = new Set(sourceFiles(root));
  const graph = new Map([...files].map((file) => [file, importsOf(file).filter((target) => files.has(target))]));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next++);
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file)!, low.get(target)!));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)!.includes(file)) cycles.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

const root = resolve(process.argv[2] ?? "src");
const cycles = importCycles(root);
for (const cycle of cycles) {
  console.error(`An import cycle of ${cycle.length} files:`);
  for (const file of cycle) console.error(`  ${relative(process.cwd(), file)}`);
}
if (cycles.length > 0) process.exit(1);
console.log(`No import cycle in ${relative(process.cwd(), root) || "."}.`);
