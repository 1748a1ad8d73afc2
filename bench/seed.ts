import { createHash, randomBytes } from "node:crypto";
import argon2 from "argon2";
import pg from "pg";

export const BENCH_PASSWORD = "a perfectly long bench password";

export interface Seeded {
  userIds: string[];
  emails: string[];
  /** Refresh tokens that each work once. */
  refreshTokens: string[];
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Writes the bench data straight into the database: 200 permissions, 50 roles of 10 permissions each,
 * `users` users with the same argon2id password (hashed once, at the server's parameters) and three
 * roles each, and a pool of sessions with one refresh token each for the refresh scenario.
 */
export async function seed(
  databaseUrl: string,
  argon: { memoryKib: number; timeCost: number; parallelism: number },
  users: number,
  refreshTokens: number,
): Promise<Seeded> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const hash = await argon2.hash(BENCH_PASSWORD, {
      type: argon2.argon2id,
      memoryCost: argon.memoryKib,
      timeCost: argon.timeCost,
      parallelism: argon.parallelism,
    });
    await client.query(`
      INSERT INTO permissions (key, description)
        SELECT 'bench.p' || i, 'bench permission ' || i FROM generate_series(0, 199) i;
      INSERT INTO roles (name, description)
        SELECT 'bench-role-' || i, 'bench role ' || i FROM generate_series(0, 49) i;
      INSERT INTO role_permissions (role_id, permission_id)
        SELECT r.id, p.id FROM roles r JOIN permissions p
          ON p.key LIKE 'bench.p%' AND r.name LIKE 'bench-role-%'
         AND (substring(p.key from 8)::int % 50) = substring(r.name from 12)::int;`);
    const inserted = await client.query<{ id: string; email: string }>(
      `INSERT INTO users (email, display_name, password_hash, email_verified_at, created_at)
         SELECT 'bench-' || i || '@example.com', 'Bench ' || i, $1, now(), now() - (($2::int - i) * interval '1 minute')
           FROM generate_series(1, $2::int) i
       RETURNING id, email`,
      [hash, users],
    );
    await client.query(`
      INSERT INTO user_roles (user_id, role_id)
        SELECT u.id, r.id FROM users u JOIN roles r
          ON r.name IN ('user', 'bench-role-' || (abs(hashtext(u.email)) % 50), 'bench-role-' || ((abs(hashtext(u.email)) + 7) % 50))
         WHERE u.email LIKE 'bench-%'
      ON CONFLICT DO NOTHING;`);
    // Token i belongs to user i mod users: consecutive refreshes are different users', as in real life,
    // where each user refreshes once per access token lifetime (no user's cache is warm for them).
    const owners = inserted.rows.map((r) => r.id);
    const tokens = Array.from({ length: refreshTokens }, () => randomBytes(32).toString("base64url"));
    const expires = new Date(Date.now() + 24 * 3600 * 1000);
    for (let i = 0; i < tokens.length; i += 5000) {
      const chunk = tokens.slice(i, i + 5000);
      await client.query(
        `WITH input AS MATERIALIZED (
           SELECT gen_random_uuid() AS session_id, o.user_id, o.hash
             FROM unnest($2::uuid[], $3::text[]) AS o(user_id, hash)
         ), s AS (
           INSERT INTO sessions (id, user_id, expires_at) SELECT session_id, user_id, $1 FROM input
         )
         INSERT INTO refresh_tokens (user_id, token_hash, family_id, expires_at)
           SELECT user_id, hash, session_id, $1 FROM input`,
        [expires, chunk.map((_, j) => owners[(i + j) % owners.length]), chunk.map(sha256)],
      );
    }
    // As autovacuum would soon: statistics for the planner, the visibility map for index-only counts.
    await client.query("VACUUM ANALYZE");
    return {
      userIds: inserted.rows.map((r) => r.id),
      emails: inserted.rows.map((r) => r.email),
      refreshTokens: tokens,
    };
  } finally {
    await client.end();
  }
}
