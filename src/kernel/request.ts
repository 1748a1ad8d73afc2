import type { ScopedClient } from "../platform/db/scoped.js";

/** Where a request comes from, for sessions and logs. */
export interface ClientInfo {
  ip: string;
  userAgent: string | undefined;
}

/** One organization's rows, as the caller may reach them. */
export interface Tenant {
  organizationId: string;
  /** Sees only this organization's rows (src/platform/db/scoped.ts). */
  db: ScopedClient;
}
