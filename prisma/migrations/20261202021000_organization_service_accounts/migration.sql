-- An organization's own service accounts (src/modules/service-accounts): the organization permissions
-- to read and manage them (src/kernel/permission-catalog.ts), carried by the owner and admin roles of
-- every organization, as organizations made from now on have them.
INSERT INTO "permissions" ("key", "description") VALUES
    ('org.service_accounts.read', 'Organization: list its service accounts and their API keys'),
    ('org.service_accounts.manage', 'Organization: create, change and delete its service accounts; make and revoke their API keys')
-- An application's own permission of the same key becomes the built-in one.
ON CONFLICT ("key") DO NOTHING;

INSERT INTO "role_permissions" ("role_id", "permission_id")
SELECT r."id", p."id"
FROM "roles" r CROSS JOIN "permissions" p
WHERE r."organization_id" IS NOT NULL AND r."is_system" AND r."name" IN ('owner', 'admin')
  AND p."key" IN ('org.service_accounts.read', 'org.service_accounts.manage')
ON CONFLICT DO NOTHING;
