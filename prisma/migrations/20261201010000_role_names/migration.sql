-- Role names are unique per organization, and among platform roles, compared trimmed and
-- case-insensitively: "Admin" or "admin " next to "admin" would pass for it in every list.
-- Prisma's schema language cannot express an index on an expression: this one lives here only, beside
-- the plain unique index of the schema's @@unique([organizationId, name]).

-- Names that would now collide keep one (a system role first, else the oldest); the others get a
-- suffix from their id, so that none is lost and the index can be built.
UPDATE "roles" r
   SET "name" = left(btrim(r."name"), 55) || '-' || left(r."id"::text, 8)
  FROM (SELECT "id", row_number() OVER (PARTITION BY "organization_id", lower(btrim("name"))
                                        ORDER BY "is_system" DESC, "created_at", "id") AS "n"
          FROM "roles") d
 WHERE d."id" = r."id" AND d."n" > 1;

-- Names are stored trimmed from now on.
UPDATE "roles" SET "name" = btrim("name") WHERE "name" <> btrim("name");

CREATE UNIQUE INDEX "roles_organization_id_normalized_name_key" ON "roles"("organization_id", lower(btrim("name"))) NULLS NOT DISTINCT;
