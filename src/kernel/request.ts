import type { ScopedClient } from "../platform/db/scoped.js";

/** Where a request comes from, for sessions and logs. */
export interface ClientInfo {
  ip: string;
  userAgent: string | undefined;
}

/**
 * Rows as the caller may reach them: the platform's own (`organizationId` null: its roles), or one
 * organization's.
 */
export interface Realm<OrganizationId extends string | null = string | null> {
  organizationId: OrganizationId;
  /** Sees only this realm's rows (src/platform/db/scoped.ts). */
  db: ScopedClient;
}

/** One organization's rows, as the caller may reach them. */
export type Tenant = Realm<string>;
