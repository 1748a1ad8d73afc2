// `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database) and exits.
import { ConfigError, loadConfig } from "../config.js";
import { openDatabase } from "../platform/db/database.js";
import { migrate } from "../platform/db/migrator.js";

try {
  const config = loadConfig(process.env);
  const db = await openDatabase(config);
  try {
    const applied = await migrate(db);
    console.log(applied.length ? `Applied: ${applied.join(", ")}` : "The database is up to date.");
  } finally {
    await db.close();
  }
} catch (error) {
  console.error(error instanceof ConfigError ? `Configuration error: ${error.message}` : error);
  process.exitCode = 1;
}
