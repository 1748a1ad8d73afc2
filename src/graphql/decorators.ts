import { createParameterDecorator } from "type-graphql";
import type { Principal } from "../kernel/principal.js";
import type { Tenant } from "../kernel/request.js";
import { actorOf, type Context } from "./context.js";
import { UUID } from "./scalars.js";

/** The signed-in caller (`Principal`) of a field whose rule already required one. */
export function Actor() {
  return createParameterDecorator<Context>(({ context }): Promise<Principal> => actorOf(context));
}

/**
 * The organization the field acts in, with a client scoped to it (`Tenant`): the `organizationId`
 * argument this declares, else the active organization. NOT_FOUND when the caller may not act there.
 */
export function InTenant() {
  return createParameterDecorator<Context>(
    ({ context, args }): Promise<Tenant> => context.tenant(args.organizationId as string | undefined),
    {
      arg: {
        name: "organizationId",
        typeFunc: () => UUID,
        options: {
          nullable: true,
          description: "The active organization when omitted. Membership counts only in the active organization.",
        },
      },
    },
  );
}
