// `npm run schema:print` writes schema.graphql from the code; `npm run schema:check` fails when it is stale.
import "reflect-metadata";
import fs from "node:fs";
import path from "node:path";
import { RESOLVERS } from "../src/api.js";
import { buildGraphQLSchema, printGraphQLSchema } from "../src/graphql/schema.js";

const file = path.resolve(import.meta.dirname, "../schema.graphql");
const printed = printGraphQLSchema(await buildGraphQLSchema(RESOLVERS));

if (process.argv.includes("--check")) {
  const committed = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
  if (committed !== printed) {
    console.error("schema.graphql is stale: run `npm run schema:print` and commit the result.");
    process.exit(1);
  }
  console.log("schema.graphql matches the code.");
} else {
  fs.writeFileSync(file, printed);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
